/*
 * gen: the benchmark's synthetic national data set, made deterministically
 * from a seed so every run, every size and the SQLite reference see exactly
 * the same rows.
 *
 * A plan spreads C centres over real districts of every province in
 * proportion to population, gives each centre a share of the people and of
 * the attendance rows, and fixes its events.  A stream then yields one
 * centre's records in the order a centre records them: people register over
 * the period (more later, as the programme grows), an event is recorded once
 * its cohort has registered, followed by that cohort's attendance.  People
 * carry realistic gender, age, district-of-residence, rural/urban and skill
 * distributions, English or Urdu names, CNICs (some shared between centres,
 * a few malformed) and phones.
 *
 * Streams hold O(events of one centre) memory and never the whole data set.
 * Records carry indexes within their centre, not ids: ids are made by whoever
 * records them (the node, or the reference), as in the real system.
 */
#ifndef RZ_BENCH_GEN_H
#define RZ_BENCH_GEN_H

#include <stddef.h>
#include <stdint.h>

#include "common/rz_err.h"

typedef struct gen_config {
    uint32_t centres;    /* number of centres (1 node each) */
    uint64_t people;     /* persons registered, all centres */
    uint64_t attendance; /* attendance rows, all centres */
    uint64_t seed;       /* everything derives from it */
    uint32_t first_date; /* YYYYMMDD of the first day of the period */
    uint32_t days;       /* length of the period in days */
} gen_config;

typedef struct gen_centre {
    uint32_t index;       /* 0 .. centres-1 */
    char name[80];        /* "e-Rozgar Lahore 3" */
    int programme;        /* 1 e-rozgar, 2 innovista, 3 other */
    const char *province; /* static */
    const char *district; /* static */
    uint64_t people;      /* persons this centre registers */
    uint64_t events;      /* events it holds */
    uint64_t attendance;  /* attendance rows it records */
} gen_centre;

typedef struct gen_plan {
    gen_config cfg;     /* copy of the configuration */
    gen_centre *centre; /* cfg.centres entries (owned) */
} gen_plan;

enum gen_kind { GEN_PERSON = 1, GEN_EVENT = 2, GEN_ATTEND = 3 };

#define GEN_TEXT 128 /* room for the longest generated string + NUL */

typedef struct gen_person {
    uint64_t index;           /* person index within the centre */
    char cnic[16];            /* "35202-1234567-2" style, "" when none */
    char name[GEN_TEXT];      /* UTF-8, English or Urdu script */
    char phone[16];           /* "03001234567", "" when none */
    int gender;               /* enum rz_gender */
    int birth_year;           /* e.g. 2001 */
    char district[GEN_TEXT];  /* district of residence (as typed) */
    int area;                 /* enum rz_area */
    int skill;                /* enum rz_skill */
    char skills[GEN_TEXT];    /* free text */
    char platforms[GEN_TEXT]; /* profiles, "" when none */
    uint32_t reg_date;        /* YYYYMMDD */
} gen_person;

typedef struct gen_event {
    uint64_t index;         /* event index within the centre */
    int kind;               /* enum rz_event_kind */
    char title[GEN_TEXT];   /* title */
    uint32_t date;          /* YYYYMMDD */
    int duration;           /* minutes */
    char partner[GEN_TEXT]; /* "" when none */
    int mode;               /* enum rz_mode */
} gen_event;

typedef struct gen_attend {
    uint64_t event;  /* event index within the centre */
    uint64_t person; /* person index within the centre */
    int present;     /* 1 present, 0 absent */
} gen_attend;

typedef struct gen_record {
    int kind;     /* enum gen_kind: which member is valid */
    gen_person p; /* GEN_PERSON */
    gen_event e;  /* GEN_EVENT */
    gen_attend a; /* GEN_ATTEND */
} gen_record;

/* One centre's records in recording order. */
typedef struct gen_stream {
    const gen_plan *plan; /* borrowed */
    const gen_centre *c;  /* borrowed */
    uint64_t *ev_start;   /* first person of each event's cohort (owned) */
    uint32_t *ev_size;    /* attendees of each event (owned) */
    uint64_t next_person; /* persons emitted so far */
    uint64_t ev;          /* current event */
    int ev_emitted;       /* current event already emitted */
    uint64_t att;         /* attendees of the current event emitted */
    uint64_t emitted;     /* records emitted so far */
} gen_stream;

/* Default period: 2024-01-01 for 1035 days (to 2026-10-31). */
void gen_config_defaults(gen_config *c);

/* Builds the plan; RZ_E_ARG when the sizes cannot be met (e.g. more
 * attendance per centre than people x events allow).  Free with
 * gen_plan_free. */
int gen_plan_init(gen_plan *p, const gen_config *c, rz_error *err) RZ_WUR;
void gen_plan_free(gen_plan *p);

/* Records of a centre (people + events + attendance). */
uint64_t gen_centre_records(const gen_centre *c);
/* Records of the whole plan. */
uint64_t gen_plan_records(const gen_plan *p);

/* Opens the stream of centre `index`; free with gen_stream_free. */
void gen_stream_init(gen_stream *s, const gen_plan *p, uint32_t index);
void gen_stream_free(gen_stream *s);
/* Fills r with the next record; returns 1, or 0 at the end of the stream. */
int gen_next(gen_stream *s, gen_record *r);

/* Civil date helpers for the period. */
uint32_t gen_date_add(uint32_t yyyymmdd, int64_t days);

#endif

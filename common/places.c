/*
 * places: parsing, matching and suggesting over the master list of places;
 * see places.h.
 *
 * Every name and alias becomes a key (places_fold) in one array sorted by
 * (kind, key, province), so a match is a binary search; the folded keys of a
 * list of ~170 districts with their aliases fit in a few kilobytes.
 */
#include "common/places.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/paths.h"
#include "common/util.h"

#define PL_KEY_MAX (2 * PLACES_NAME_MAX) /* folded key bytes ("&" grows to "and") */
#define PL_LINE_MAX 4096                 /* bytes of one line */

enum { PL_PROVINCE = 0, PL_DISTRICT = 1 };

typedef struct pl_key {
    char *key;     /* folded name or alias */
    int kind;      /* PL_PROVINCE or PL_DISTRICT */
    int province;  /* the province (for a province: itself) */
    size_t target; /* province index, or district index in places.dist */
    size_t line;   /* where it was declared, for errors */
} pl_key;

typedef struct pl_province {
    char *name;   /* official name */
    size_t *dist; /* its districts: indices into places.dist, file order */
    size_t ndist; /* used */
    size_t cap;   /* allocated */
} pl_province;

typedef struct pl_district {
    char *name;   /* official name */
    int province; /* its province */
} pl_district;

struct places {
    char *version;                          /* label */
    pl_province prov[PLACES_MAX_PROVINCES]; /* provinces, file order */
    size_t nprov;                           /* used */
    pl_district *dist;                      /* all districts, file order */
    size_t ndist, dist_cap;                 /* used, allocated */
    pl_key *keys;                           /* sorted by (kind, key, province) */
    size_t nkeys, keys_cap;                 /* used, allocated */
};

size_t
places_fold(char *out, size_t n, const char *name, size_t len)
{
    size_t i, k = 0;
    for (i = 0; i < len; i++) {
        unsigned char c = (unsigned char)name[i];
        if (c >= 'A' && c <= 'Z')
            c = (unsigned char)(c - 'A' + 'a');
        if (c == '&') {
            if (k + 3 >= n)
                return out[0] = '\0', 0;
            memcpy(out + k, "and", 3), k += 3;
            continue;
        }
        if (c < 0x80 && !((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')))
            continue; /* blanks, punctuation, control bytes */
        if (k + 1 >= n)
            return out[0] = '\0', 0;
        out[k++] = (char)c;
    }
    out[k] = '\0';
    return k;
}

static int
pl_key_cmp(const void *a, const void *b)
{
    const pl_key *x = a, *y = b;
    int c;
    if (x->kind != y->kind)
        return x->kind < y->kind ? -1 : 1;
    if ((c = strcmp(x->key, y->key)) != 0)
        return c;
    if (x->province != y->province)
        return x->province < y->province ? -1 : 1;
    return x->target < y->target ? -1 : x->target > y->target;
}

void
places_destroy(places **pp)
{
    places *p = pp ? *pp : NULL;
    size_t i;
    if (!p)
        return;
    for (i = 0; i < p->nprov; i++) {
        free(p->prov[i].name);
        free(p->prov[i].dist);
    }
    for (i = 0; i < p->ndist; i++)
        free(p->dist[i].name);
    for (i = 0; i < p->nkeys; i++)
        free(p->keys[i].key);
    free(p->dist);
    free(p->keys);
    free(p->version);
    free(p);
    *pp = NULL;
}

/* ---- parsing ------------------------------------------------------------ */

typedef struct pl_parse {
    places *p;          /* list being built */
    const char *origin; /* for errors */
    size_t line;        /* current line */
    rz_error *err;      /* detail */
} pl_parse;

static int pl_fail(pl_parse *ps, const char *fmt, ...) RZ_PRINTF(2, 3);

static int
pl_fail(pl_parse *ps, const char *fmt, ...)
{
    char msg[RZ_ERROR_TEXT];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return rz_fail(ps->err, RZ_E_ARG, "%s:%zu: %s", ps->origin ? ps->origin : "places", ps->line,
                   msg);
}

/* A name as written: 1..PLACES_NAME_MAX bytes, no control bytes, no
 * surrounding blanks, something to match on. */
static int
pl_check_name(pl_parse *ps, const char *what, const char *s, size_t len)
{
    char key[PL_KEY_MAX + 1];
    size_t i;
    if (len == 0 || len > PLACES_NAME_MAX)
        return pl_fail(ps, "%s must be 1..%d bytes", what, PLACES_NAME_MAX);
    for (i = 0; i < len; i++)
        if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
            return pl_fail(ps, "%s has a control byte", what);
    if (s[0] == ' ' || s[len - 1] == ' ')
        return pl_fail(ps, "%s '%.*s' has surrounding blanks", what, (int)len, s);
    if (places_fold(key, sizeof key, s, len) == 0)
        return pl_fail(ps, "%s '%.*s' has no letter or digit to match on", what, (int)len, s);
    return 0;
}

static int
pl_add_key(pl_parse *ps, const char *s, size_t len, int kind, int province, size_t target)
{
    places *p = ps->p;
    char key[PL_KEY_MAX + 1];
    if (p->nkeys == p->keys_cap) {
        p->keys_cap = p->keys_cap ? 2 * p->keys_cap : 256;
        p->keys = xrealloc(p->keys, p->keys_cap * sizeof *p->keys);
    }
    places_fold(key, sizeof key, s, len);
    p->keys[p->nkeys].key = xstrdup(key);
    p->keys[p->nkeys].kind = kind;
    p->keys[p->nkeys].province = province;
    p->keys[p->nkeys].target = target;
    p->keys[p->nkeys].line = ps->line;
    p->nkeys++;
    return 0;
}

/* The ';'-separated aliases of one place (blanks around each trimmed). */
static int
pl_add_aliases(pl_parse *ps, const char *s, size_t len, int kind, int province, size_t target)
{
    size_t i = 0, n = 0;
    int rc;
    while (i < len) {
        size_t a = i, b;
        while (i < len && s[i] != ';')
            i++;
        b = i++;
        while (a < b && s[a] == ' ')
            a++;
        while (b > a && s[b - 1] == ' ')
            b--;
        if (a == b)
            continue;
        if (++n > PLACES_MAX_ALIASES)
            return pl_fail(ps, "more than %d aliases", PLACES_MAX_ALIASES);
        if ((rc = pl_check_name(ps, "alias", s + a, b - a)) ||
            (rc = pl_add_key(ps, s + a, b - a, kind, province, target)))
            return rc;
    }
    return 0;
}

static char *
pl_strndup(const char *s, size_t n)
{
    char *d = xmalloc(n + 1);
    memcpy(d, s, n);
    d[n] = '\0';
    return d;
}

static int
pl_find_province_exact(const places *p, const char *s, size_t len)
{
    size_t i;
    for (i = 0; i < p->nprov; i++)
        if (strlen(p->prov[i].name) == len && memcmp(p->prov[i].name, s, len) == 0)
            return (int)i;
    return -1;
}

/* One record split into fields f[0..nf-1] (pointers into the line). */
static int
pl_record(pl_parse *ps, const char **f, const size_t *fl, size_t nf)
{
    places *p = ps->p;
    int rc;
    if (fl[0] == 7 && memcmp(f[0], "version", 7) == 0) {
        if (p->version)
            return pl_fail(ps, "a second version line");
        if (nf != 2 || (rc = pl_check_name(ps, "version", f[1], fl[1])))
            return nf != 2 ? pl_fail(ps, "version<TAB>LABEL") : rc;
        p->version = pl_strndup(f[1], fl[1]);
        return 0;
    }
    if (!p->version)
        return pl_fail(ps, "the version line must come first");
    if (fl[0] == 8 && memcmp(f[0], "province", 8) == 0) {
        pl_province *pr;
        if (nf < 2 || nf > 3)
            return pl_fail(ps, "province<TAB>NAME<TAB>ALIASES");
        if ((rc = pl_check_name(ps, "province", f[1], fl[1])))
            return rc;
        if (p->nprov == PLACES_MAX_PROVINCES)
            return pl_fail(ps, "more than %d provinces", PLACES_MAX_PROVINCES);
        if (pl_find_province_exact(p, f[1], fl[1]) >= 0)
            return pl_fail(ps, "province '%.*s' twice", (int)fl[1], f[1]);
        pr = &p->prov[p->nprov];
        memset(pr, 0, sizeof *pr);
        pr->name = pl_strndup(f[1], fl[1]);
        p->nprov++;
        if ((rc = pl_add_key(ps, f[1], fl[1], PL_PROVINCE, (int)p->nprov - 1, p->nprov - 1)))
            return rc;
        return nf == 3
                   ? pl_add_aliases(ps, f[2], fl[2], PL_PROVINCE, (int)p->nprov - 1, p->nprov - 1)
                   : 0;
    }
    if (fl[0] == 8 && memcmp(f[0], "district", 8) == 0) {
        pl_province *pr;
        int prov;
        if (nf < 3 || nf > 4)
            return pl_fail(ps, "district<TAB>PROVINCE<TAB>NAME<TAB>ALIASES");
        if ((prov = pl_find_province_exact(p, f[1], fl[1])) < 0)
            return pl_fail(ps, "district of province '%.*s', not declared above",
                           (int)(fl[1] > 60 ? 60 : fl[1]), f[1]);
        if ((rc = pl_check_name(ps, "district", f[2], fl[2])))
            return rc;
        if (p->ndist == PLACES_MAX_DISTRICTS)
            return pl_fail(ps, "more than %d districts", PLACES_MAX_DISTRICTS);
        if (p->ndist == p->dist_cap) {
            p->dist_cap = p->dist_cap ? 2 * p->dist_cap : 256;
            p->dist = xrealloc(p->dist, p->dist_cap * sizeof *p->dist);
        }
        p->dist[p->ndist].name = pl_strndup(f[2], fl[2]);
        p->dist[p->ndist].province = prov;
        pr = &p->prov[prov];
        if (pr->ndist == pr->cap) {
            pr->cap = pr->cap ? 2 * pr->cap : 16;
            pr->dist = xrealloc(pr->dist, pr->cap * sizeof *pr->dist);
        }
        pr->dist[pr->ndist++] = p->ndist;
        p->ndist++;
        if ((rc = pl_add_key(ps, f[2], fl[2], PL_DISTRICT, prov, p->ndist - 1)))
            return rc;
        return nf == 4 ? pl_add_aliases(ps, f[3], fl[3], PL_DISTRICT, prov, p->ndist - 1) : 0;
    }
    return pl_fail(ps, "unknown record '%.*s' (version, province, district)",
                   (int)(fl[0] > 20 ? 20 : fl[0]), f[0]);
}

/* After sorting: one key may not denote two places of its kind in one
 * province (a district key may repeat in another province). */
static int
pl_check_unique(pl_parse *ps)
{
    places *p = ps->p;
    size_t i;
    for (i = 1; i < p->nkeys; i++) {
        const pl_key *a = &p->keys[i - 1], *b = &p->keys[i];
        if (a->kind != b->kind || strcmp(a->key, b->key) != 0 || a->target == b->target)
            continue;
        if (a->kind == PL_DISTRICT && a->province != b->province)
            continue;
        ps->line = a->line > b->line ? a->line : b->line;
        return pl_fail(ps, "'%s' would match both %s and %s", b->key,
                       a->kind == PL_PROVINCE ? p->prov[a->target].name : p->dist[a->target].name,
                       b->kind == PL_PROVINCE ? p->prov[b->target].name : p->dist[b->target].name);
    }
    return 0;
}

int
places_parse(places **out, const char *text, size_t len, const char *origin, rz_error *err)
{
    pl_parse ps = {xcalloc(1, sizeof(places)), origin, 0, err};
    size_t pos = 0;
    int rc = 0;

    *out = NULL;
    if (len > PLACES_FILE_MAX) {
        rc = rz_fail(err, RZ_E_TOOBIG, "%s: more than %d bytes", origin ? origin : "places",
                     PLACES_FILE_MAX);
        goto out;
    }
    while (rc == 0 && pos < len) {
        const char *line = text + pos, *f[5];
        size_t n = 0, fl[5], nf = 0, i, start = 0;
        while (pos + n < len && text[pos + n] != '\n')
            n++;
        pos += n + 1;
        ps.line++;
        if (n > 0 && line[n - 1] == '\r')
            n--;
        if (n == 0 || line[0] == '#')
            continue;
        if (n > PL_LINE_MAX) {
            rc = pl_fail(&ps, "line longer than %d bytes", PL_LINE_MAX);
            break;
        }
        for (i = 0; i <= n && nf < 5; i++) {
            if (i == n || line[i] == '\t') {
                f[nf] = line + start;
                fl[nf++] = i - start;
                start = i + 1;
            }
        }
        if (nf == 5) {
            rc = pl_fail(&ps, "too many fields");
            break;
        }
        /* An empty last field (no aliases) is the same as none. */
        while (nf > 2 && fl[nf - 1] == 0)
            nf--;
        rc = pl_record(&ps, f, fl, nf);
    }
    if (rc)
        goto out;
    ps.line = 0;
    if (!ps.p->version || ps.p->nprov == 0 || ps.p->ndist == 0) {
        rc = rz_fail(err, RZ_E_ARG, "%s: needs a version line, provinces and districts",
                     origin ? origin : "places");
        goto out;
    }
    qsort(ps.p->keys, ps.p->nkeys, sizeof *ps.p->keys, pl_key_cmp);
    if ((rc = pl_check_unique(&ps)))
        goto out;
    *out = ps.p;
    ps.p = NULL;
out:
    places_destroy(&ps.p);
    return rc;
}

int
places_load_text(places **out, char **text, size_t *len, const char *path, rz_error *err)
{
    char *buf = xmalloc(PLACES_FILE_MAX + 1);
    size_t n = 0;
    int rc;
    *out = NULL;
    if ((rc = file_read_small(path, buf, PLACES_FILE_MAX + 1, &n, err)) == 0)
        rc = places_parse(out, buf, n, path, err);
    if (rc == 0 && text) {
        *text = buf;
        *len = n;
        return 0;
    }
    free(buf);
    return rc;
}

int
places_load(places **out, const char *path, rz_error *err)
{
    return places_load_text(out, NULL, NULL, path, err);
}

/* ---- reading ------------------------------------------------------------ */

const char *
places_version(const places *p)
{
    return p->version;
}

size_t
places_province_count(const places *p)
{
    return p->nprov;
}

const char *
places_province_name(const places *p, size_t province)
{
    return province < p->nprov ? p->prov[province].name : NULL;
}

size_t
places_district_count(const places *p, size_t province)
{
    return province < p->nprov ? p->prov[province].ndist : 0;
}

const char *
places_district_name(const places *p, size_t province, size_t district)
{
    if (province >= p->nprov || district >= p->prov[province].ndist)
        return NULL;
    return p->dist[p->prov[province].dist[district]].name;
}

/* The first key of (kind, key), or p->nkeys. */
static size_t
pl_lower_bound(const places *p, int kind, const char *key)
{
    size_t lo = 0, hi = p->nkeys;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        const pl_key *k = &p->keys[mid];
        int c = k->kind != kind ? (k->kind < kind ? -1 : 1) : strcmp(k->key, key);
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

int
places_find_province(const places *p, const char *name)
{
    char key[PL_KEY_MAX + 1];
    size_t i;
    if (!p || !name || places_fold(key, sizeof key, name, strlen(name)) == 0)
        return -1;
    i = pl_lower_bound(p, PL_PROVINCE, key);
    if (i < p->nkeys && p->keys[i].kind == PL_PROVINCE && strcmp(p->keys[i].key, key) == 0)
        return (int)p->keys[i].target;
    return -1;
}

const char *
places_find_district(const places *p, int province, const char *name, int *province_out)
{
    char key[PL_KEY_MAX + 1];
    const char *found = NULL;
    int where = -1;
    size_t i;
    if (!p || !name || places_fold(key, sizeof key, name, strlen(name)) == 0)
        return NULL;
    for (i = pl_lower_bound(p, PL_DISTRICT, key);
         i < p->nkeys && p->keys[i].kind == PL_DISTRICT && strcmp(p->keys[i].key, key) == 0; i++) {
        const pl_district *d = &p->dist[p->keys[i].target];
        if (province >= 0 && d->province != province)
            continue;
        if (found && strcmp(found, d->name) != 0)
            return NULL; /* two different districts: ambiguous without a province */
        found = d->name;
        where = d->province;
    }
    if (found && province_out)
        *province_out = where;
    return found;
}

/* ---- suggestions -------------------------------------------------------- */

/* Levenshtein distance of two folded keys (bounded by PL_KEY_MAX). */
static size_t
pl_distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b), i, j;
    size_t row[PL_KEY_MAX + 2];
    if (la > PL_KEY_MAX || lb > PL_KEY_MAX)
        return (size_t)-1;
    for (j = 0; j <= lb; j++)
        row[j] = j;
    for (i = 1; i <= la; i++) {
        size_t diag = row[0];
        row[0] = i;
        for (j = 1; j <= lb; j++) {
            size_t up = row[j], best = diag + (a[i - 1] != b[j - 1]);
            if (up + 1 < best)
                best = up + 1;
            if (row[j - 1] + 1 < best)
                best = row[j - 1] + 1;
            diag = up;
            row[j] = best;
        }
    }
    return row[lb];
}

typedef struct pl_cand {
    const char *name; /* official name */
    size_t score;     /* lower is closer */
} pl_cand;

static int
pl_cand_cmp(const void *a, const void *b)
{
    const pl_cand *x = a, *y = b;
    if (x->score != y->score)
        return x->score < y->score ? -1 : 1;
    return strcmp(x->name, y->name);
}

static size_t
pl_suggest(const places *p, int kind, int province, const char *name, const char **out, size_t max)
{
    char key[PL_KEY_MAX + 1];
    pl_cand *c;
    size_t i, j, n = 0, klen, limit, got = 0;
    if (!p || !name || max == 0 || (klen = places_fold(key, sizeof key, name, strlen(name))) == 0)
        return 0;
    if (max > PLACES_SUGGEST_MAX)
        max = PLACES_SUGGEST_MAX;
    /* Close enough to be worth offering: about a third of the letters. */
    limit = klen / 3 > 2 ? klen / 3 : 2;
    c = xmalloc((p->nkeys + 1) * sizeof *c);
    for (i = 0; i < p->nkeys; i++) {
        const pl_key *k = &p->keys[i];
        const char *official;
        size_t score;
        if (k->kind != kind || (province >= 0 && k->province != province))
            continue;
        official = kind == PL_PROVINCE ? p->prov[k->target].name : p->dist[k->target].name;
        /* "Dera" -> every Dera ...: the input begins a name. */
        if (klen >= 3 && strncmp(k->key, key, klen) == 0)
            score = 1;
        else if ((score = pl_distance(key, k->key)) > limit)
            continue;
        for (j = 0; j < n && c[j].name != official; j++)
            ;
        if (j == n)
            c[n++] = (pl_cand){official, score};
        else if (score < c[j].score)
            c[j].score = score;
    }
    qsort(c, n, sizeof *c, pl_cand_cmp);
    for (i = 0; i < n && got < max; i++)
        out[got++] = c[i].name;
    free(c);
    return got;
}

size_t
places_suggest_province(const places *p, const char *name, const char **out, size_t max)
{
    return pl_suggest(p, PL_PROVINCE, -1, name, out, max);
}

size_t
places_suggest_district(const places *p, int province, const char *name, const char **out,
                        size_t max)
{
    return pl_suggest(p, PL_DISTRICT, province, name, out, max);
}

/* ---- the active list ---------------------------------------------------- */

static places *places_cur; /* set by places_set_active or the default */
static pthread_once_t places_once = PTHREAD_ONCE_INIT;
static pthread_mutex_t places_mu = PTHREAD_MUTEX_INITIALIZER;
static places **places_retired; /* replaced lists, kept for borrowed names */
static size_t places_nretired, places_capretired;

int
places_default_path(char *out, size_t n)
{
    const char *env = getenv("RZ_PLACES_FILE");
    if (env && *env) {
        int k = snprintf(out, n, "%s", env);
        return k < 0 || (size_t)k >= n ? -1 : 0;
    }
    return rz_share_path(out, n, "data/places.tsv");
}

static void
places_load_default(void)
{
    char path[4096];
    places *p = NULL;
    pthread_mutex_lock(&places_mu);
    if (!places_cur && places_default_path(path, sizeof path) == 0 &&
        places_load(&p, path, NULL) == 0)
        places_cur = p;
    pthread_mutex_unlock(&places_mu);
}

const places *
places_active(void)
{
    const places *p;
    pthread_once(&places_once, places_load_default);
    pthread_mutex_lock(&places_mu);
    p = places_cur;
    pthread_mutex_unlock(&places_mu);
    return p;
}

void
places_set_active(places *p)
{
    pthread_once(&places_once, places_load_default);
    pthread_mutex_lock(&places_mu);
    if (places_cur && places_cur != p) {
        /* Never freed: a running server swaps lists on every import
         * (server/placelist.h placelist_refresh) while other threads may
         * still hold names of the old one; imports are rare and small. */
        if (places_nretired == places_capretired) {
            places_capretired = places_capretired ? 2 * places_capretired : 8;
            places_retired = xrealloc(places_retired, places_capretired * sizeof *places_retired);
        }
        places_retired[places_nretired++] = places_cur;
    }
    places_cur = p;
    pthread_mutex_unlock(&places_mu);
}

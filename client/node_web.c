/*
 * node_web: the centre's web app; see node_web.h.  This file is the core:
 * listening (plain on 127.0.0.1, HTTPS elsewhere), the gate every request
 * passes, sign-in and sign-out, static files.  The pages' API is in
 * node_web_api.c.
 */
#include "client/node_web.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <ifaddrs.h>
#include <microhttpd.h>
#include <net/if.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "client/node_lock.h"
#include "client/node_web_int.h"
#include "common/hlc.h"
#include "common/log.h"
#include "common/paths.h"
#include "common/util.h"
#include "common/webtls.h"

enum {
    WEB_HOSTS_MAX = 48,      /* Host header values accepted */
    WEB_HOST_LEN = 300,      /* bytes of one */
    WEB_CONN_LIMIT = 64,     /* concurrent connections */
    WEB_CONN_TIMEOUT_S = 60, /* idle connection timeout */
    WEB_ASSET_MAX = 4 << 20, /* bytes of a served file */
    WEB_PEEK_MS = 3000,      /* wait for a TLS client's first byte */
    WEB_SAN_MAX = 16,        /* names in a made certificate */
    WEB_PENDING_MAX = 32,    /* HTTPS connections awaiting their first byte */
};

static const char *const web_roles[] = {"admin", "staff", NULL};

/* Files served, by URL: never a path the request names. */
static const struct {
    const char *url;   /* request path */
    const char *file;  /* file in web_dir */
    const char *ctype; /* content type */
} web_files[] = {
    {"/", "index.html", "text/html; charset=utf-8"},
    {"/login", "login.html", "text/html; charset=utf-8"},
    {"/static/app.js", "app.js", "text/javascript; charset=utf-8"},
    {"/static/login.js", "login.js", "text/javascript; charset=utf-8"},
    {"/static/app.css", "app.css", "text/css; charset=utf-8"},
};

/* Per-connection request state (MHD's req_cls). */
typedef struct web_req {
    char *body;   /* collected body, NUL-terminated */
    size_t len;   /* its bytes */
    size_t cap;   /* allocated */
    size_t limit; /* most bytes accepted */
    int too_big;  /* the body went over limit (rest discarded) */
} web_req;

typedef struct web_server {
    web_app app;                              /* shared with the handlers */
    char hosts[WEB_HOSTS_MAX][WEB_HOST_LEN];  /* accepted Host values */
    const char *host_ptrs[WEB_HOSTS_MAX + 1]; /* NULL-terminated view */
    int nhosts;                               /* used entries */
    struct MHD_Daemon *mhd;                   /* the daemon */
    int lfd;                                  /* our listening socket (TLS), -1 */
    pthread_t acceptor;                       /* sorts TLS from plain HTTP */
    int acceptor_running;                     /* acceptor started */
    volatile int stopping;                    /* shutting down */
    char san[WEB_SAN_MAX][WEB_HOST_LEN];      /* names for a self-signed certificate */
    const char *san_ptrs[WEB_SAN_MAX + 1];    /* NULL-terminated view */
    int nsan;                                 /* used entries */
} web_server;

/* ---- small helpers ---- */

const char *
web_form_get(const web_form *f, const char *key)
{
    int i;
    for (i = 0; f && i < f->n; i++)
        if (strcmp(f->key[i], key) == 0)
            return f->val[i];
    return NULL;
}

void
web_json_str(FILE *out, const char *s)
{
    const unsigned char *p = (const unsigned char *)(s ? s : "");
    fputc('"', out);
    for (; *p; p++) {
        switch (*p) {
        case '"': fputs("\\\"", out); break;
        case '\\': fputs("\\\\", out); break;
        case '\n': fputs("\\n", out); break;
        case '\r': fputs("\\r", out); break;
        case '\t': fputs("\\t", out); break;
        case '<': fputs("\\u003c", out); break;
        case '>': fputs("\\u003e", out); break;
        case '&': fputs("\\u0026", out); break;
        default:
            if (*p < 0x20)
                fprintf(out, "\\u%04x", *p);
            else
                fputc(*p, out);
        }
    }
    fputc('"', out);
}

void
web_json_kv(FILE *out, const char *key, const char *s, int first)
{
    if (!first)
        fputc(',', out);
    web_json_str(out, key);
    fputc(':', out);
    web_json_str(out, s);
}

int
web_fail(web_call *c, unsigned status, const char *msg)
{
    if (c->out)
        fclose(c->out);
    free(c->buf);
    c->buf = NULL;
    c->len = 0;
    if (!(c->out = open_memstream(&c->buf, &c->len)))
        return RZ_E_NOMEM;
    c->status = status;
    fputs("{\"error\":", c->out);
    web_json_str(c->out, msg);
    fputs("}\n", c->out);
    return 0;
}

/* 1 when s[0..len) is valid UTF-8 (no overlongs, no surrogates). */
static int
web_utf8_ok(const unsigned char *s, size_t len)
{
    size_t i = 0;
    while (i < len) {
        unsigned c = s[i], n, k;
        uint32_t cp;
        if (c < 0x80) {
            i++;
            continue;
        }
        if (c >= 0xc2 && c <= 0xdf)
            n = 1, cp = c & 0x1f;
        else if (c >= 0xe0 && c <= 0xef)
            n = 2, cp = c & 0x0f;
        else if (c >= 0xf0 && c <= 0xf4)
            n = 3, cp = c & 0x07;
        else
            return 0;
        for (k = 1; k <= n; k++) {
            if (i + k >= len || (s[i + k] & 0xc0) != 0x80)
                return 0;
            cp = (cp << 6) | (s[i + k] & 0x3f);
        }
        if ((n == 2 && cp < 0x800) || (n == 3 && (cp < 0x10000 || cp > 0x10ffff)) ||
            (cp >= 0xd800 && cp <= 0xdfff))
            return 0;
        i += n + 1;
    }
    return 1;
}

/* Decodes application/x-www-form-urlencoded text (len bytes) into f.
 * Returns 0, or -1 with why (static text) on anything malformed: bad
 * percent-encoding, too many or too long fields, bad UTF-8, NUL or control
 * bytes (a tab and line breaks are allowed in values). */
static int
web_form_parse(web_form *f, const char *text, size_t len, const char **why)
{
    char *w;
    size_t i = 0;
    memset(f, 0, sizeof *f);
    /* Decoding never grows the text; a field without '=' gains two NULs. */
    f->buf = xmalloc(len + 2 * WEB_FIELDS_MAX + 2);
    w = f->buf;
    while (i < len) {
        char *start = w;
        int is_key = 1;
        size_t klen = 0;
        if (f->n == WEB_FIELDS_MAX) {
            *why = "The form has too many fields.";
            return -1;
        }
        f->key[f->n] = w;
        f->val[f->n] = NULL;
        while (i <= len) {
            char ch = i < len ? text[i] : '&';
            int v;
            if (ch == '&' || (ch == '=' && is_key)) {
                *w++ = '\0';
                i++;
                if (is_key) {
                    klen = (size_t)(w - 1 - start);
                    f->val[f->n] = w;
                    start = w;
                    if (ch == '=') {
                        is_key = 0;
                        continue;
                    }
                    *w++ = '\0';
                }
                break;
            }
            if (ch == '+') {
                v = ' ';
                i++;
            } else if (ch == '%') {
                int h = i + 2 < len ? hex_nibble(text[i + 1]) : -1;
                int l = h >= 0 ? hex_nibble(text[i + 2]) : -1;
                if (h < 0 || l < 0) {
                    *why = "The form is not properly encoded.";
                    return -1;
                }
                v = h * 16 + l;
                i += 3;
            } else {
                v = (unsigned char)ch;
                i++;
            }
            if (v == 0) {
                *why =
                    "The form contains a NUL byte (an invisible character that text may not hold).";
                return -1;
            }
            if ((v < 0x20 && v != '\t' && v != '\n' && v != '\r') || v == 0x7f) {
                *why = "The form contains a control character (an invisible character that text "
                       "may not hold).";
                return -1;
            }
            *w++ = (char)v;
        }
        if (klen == 0 && f->val[f->n] && !*f->val[f->n])
            continue; /* "a=1&&b=2" */
        if (klen == 0 || klen > WEB_KEY_MAX) {
            *why = "The form has a field without a proper name.";
            return -1;
        }
        if (strlen(f->val[f->n]) > WEB_VALUE_MAX) {
            *why = "A form field is too long (at most 4096 bytes).";
            return -1;
        }
        if (!web_utf8_ok((const unsigned char *)f->key[f->n], klen) ||
            !web_utf8_ok((const unsigned char *)f->val[f->n], strlen(f->val[f->n]))) {
            *why = "The form contains text that is not valid UTF-8 (save or type it again as "
                   "Unicode text).";
            return -1;
        }
        f->n++;
    }
    return 0;
}

static void
web_form_free(web_form *f)
{
    free(f->buf);
    memset(f, 0, sizeof *f);
}

/* Collects the query string with the same checks as a form. */
typedef struct web_qs {
    char buf[WEB_FORM_MAX]; /* key=value&... re-encoded */
    size_t len;             /* bytes used */
    int over;               /* did not fit */
} web_qs;

static void
web_qs_put(web_qs *q, const char *s, size_t n)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t i;
    for (i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)s[i];
        if (q->len + 3 >= sizeof q->buf) {
            q->over = 1;
            return;
        }
        q->buf[q->len++] = '%';
        q->buf[q->len++] = hex[ch >> 4];
        q->buf[q->len++] = hex[ch & 15];
    }
}

static enum MHD_Result
web_qs_collect(void *cls, enum MHD_ValueKind kind, const char *key, size_t key_size,
               const char *value, size_t value_size)
{
    web_qs *q = cls;
    (void)kind;
    if (q->len + 2 >= sizeof q->buf) {
        q->over = 1;
        return MHD_NO;
    }
    if (q->len)
        q->buf[q->len++] = '&';
    web_qs_put(q, key, key_size);
    if (q->len + 2 >= sizeof q->buf) {
        q->over = 1;
        return MHD_NO;
    }
    q->buf[q->len++] = '=';
    if (value)
        web_qs_put(q, value, value_size);
    return q->over ? MHD_NO : MHD_YES;
}

/* ---- responses ---- */

static void
web_headers(struct MHD_Response *r, const char *ctype)
{
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, ctype);
    MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
    MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
    MHD_add_response_header(r, "Referrer-Policy", "same-origin");
    MHD_add_response_header(r, "X-Frame-Options", "DENY");
    MHD_add_response_header(r, "Content-Security-Policy",
                            "default-src 'self'; script-src 'self'; style-src 'self'; "
                            "img-src 'self' data:; object-src 'none'; base-uri 'none'; "
                            "form-action 'self'; frame-ancestors 'none'");
}

static enum MHD_Result
web_queue(struct MHD_Connection *conn, unsigned status, struct MHD_Response *r)
{
    enum MHD_Result ret;
    if (!r)
        return MHD_NO;
    ret = MHD_queue_response(conn, status, r);
    MHD_destroy_response(r);
    return ret;
}

static enum MHD_Result
web_send(struct MHD_Connection *conn, unsigned status, const char *ctype, char *body, size_t len,
         const char *cookie, const char *disposition)
{
    struct MHD_Response *r = MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE);
    if (!r) {
        free(body);
        return MHD_NO;
    }
    web_headers(r, ctype);
    if (cookie)
        MHD_add_response_header(r, MHD_HTTP_HEADER_SET_COOKIE, cookie);
    if (disposition)
        MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_DISPOSITION, disposition);
    return web_queue(conn, status, r);
}

static void
web_html_escape(FILE *out, const char *s)
{
    for (; s && *s; s++) {
        switch (*s) {
        case '<': fputs("&lt;", out); break;
        case '>': fputs("&gt;", out); break;
        case '&': fputs("&amp;", out); break;
        case '"': fputs("&quot;", out); break;
        default: fputc(*s, out);
        }
    }
}

/* A small page saying what went wrong and what to do; nothing changed. */
static enum MHD_Result
web_error_page(struct MHD_Connection *conn, unsigned status, const char *title, const char *msg,
               const char *cookie)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (!f)
        return MHD_NO;
    fputs("<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
          "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
          "<link rel=\"stylesheet\" href=\"/static/app.css\"><title>",
          f);
    web_html_escape(f, title);
    fputs("</title></head><body class=\"errorpage\"><main><h1 id=\"title\">", f);
    web_html_escape(f, title);
    fputs("</h1><p id=\"msg\">", f);
    web_html_escape(f, msg);
    fputs("</p><p>Nothing was changed.</p><p><a href=\"/\">Back to the centre app</a> · "
          "<a href=\"/login\">Sign in</a></p></main></body></html>\n",
          f);
    if (fclose(f) != 0) {
        free(buf);
        return MHD_NO;
    }
    return web_send(conn, status, "text/html; charset=utf-8", buf, len, cookie, NULL);
}

static enum MHD_Result
web_json_error(struct MHD_Connection *conn, unsigned status, const char *msg, const char *cookie)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (!f)
        return MHD_NO;
    fputs("{\"error\":", f);
    web_json_str(f, msg);
    fprintf(f, ",\"signin\":%s}\n", status == MHD_HTTP_UNAUTHORIZED ? "true" : "false");
    if (fclose(f) != 0) {
        free(buf);
        return MHD_NO;
    }
    return web_send(conn, status, "application/json; charset=utf-8", buf, len, cookie, NULL);
}

static enum MHD_Result
web_redirect(struct MHD_Connection *conn, const char *to)
{
    struct MHD_Response *r = MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
    if (!r)
        return MHD_NO;
    web_headers(r, "text/plain");
    MHD_add_response_header(r, MHD_HTTP_HEADER_LOCATION, to);
    return web_queue(conn, MHD_HTTP_SEE_OTHER, r);
}

static enum MHD_Result
web_file(web_server *sv, struct MHD_Connection *conn, const char *name, const char *ctype)
{
    char path[PATH_MAX];
    struct stat st;
    struct MHD_Response *r;
    int fd;
    if (snprintf(path, sizeof path, "%s/%s", sv->app.web_dir, name) >= (int)sizeof path ||
        (fd = open(path, O_RDONLY | O_CLOEXEC)) < 0) {
        log_warnx("web: cannot serve %s (set RZ_NODE_WEB_DIR to the installed web/node)", name);
        return web_error_page(conn, MHD_HTTP_NOT_FOUND, "Page not installed",
                              "The centre app's files are missing on this PC.", NULL);
    }
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size > WEB_ASSET_MAX ||
        !(r = MHD_create_response_from_fd((uint64_t)st.st_size, fd))) {
        close(fd);
        return MHD_NO;
    }
    web_headers(r, ctype);
    return web_queue(conn, MHD_HTTP_OK, r);
}

/* ---- the gate ---- */

static const char *
web_client_addr(struct MHD_Connection *conn, char *out, size_t len)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    out[0] = '\0';
    if (ci && ci->client_addr) {
        socklen_t sl = ci->client_addr->sa_family == AF_INET6 ? sizeof(struct sockaddr_in6)
                                                              : sizeof(struct sockaddr_in);
        if (getnameinfo(ci->client_addr, sl, out, (socklen_t)len, NULL, 0, NI_NUMERICHOST) != 0)
            out[0] = '\0';
    }
    return out;
}

static int
web_is_api(const char *url)
{
    return strncmp(url, "/api/", 5) == 0;
}

/* Signs in: POST /login with user and password. */
static enum MHD_Result
web_login(web_server *sv, struct MHD_Connection *conn, const web_form *form)
{
    const char *user = web_form_get(form, "user"), *pass = web_form_get(form, "password");
    char addr[INET6_ADDRSTRLEN + 8], cookie[WEBAUTH_COOKIE_MAX];
    webauth_session s;
    rz_error err = {0, ""};
    char *buf = NULL;
    size_t len = 0;
    FILE *f;
    int rc;
    if (!user || !pass || !*user || !*pass)
        return web_json_error(conn, MHD_HTTP_BAD_REQUEST, "type your username and password", NULL);
    rc = webauth_login(sv->app.wa, user, pass, web_client_addr(conn, addr, sizeof addr),
                       hlc_wall_ms(), &s, &err);
    if (rc == RZ_E_AUTH || rc == RZ_E_ARG)
        return web_json_error(conn, MHD_HTTP_FORBIDDEN, err.text, NULL);
    if (rc == RZ_E_BUSY)
        return web_json_error(conn, MHD_HTTP_TOO_MANY_REQUESTS, err.text, NULL);
    if (rc) {
        log_warnx("web: sign-in failed: %s", err.text);
        return web_json_error(conn, MHD_HTTP_INTERNAL_SERVER_ERROR, "sign-in failed; try again",
                              NULL);
    }
    webauth_set_cookie(cookie, sizeof cookie, s.cookie, sv->app.tls);
    sodium_memzero(s.cookie, sizeof s.cookie);
    if (!(f = open_memstream(&buf, &len)))
        return MHD_NO;
    fputs("{\"ok\":true", f);
    web_json_kv(f, "user", s.user, 0);
    web_json_kv(f, "role", s.role, 0);
    fputs("}\n", f);
    if (fclose(f) != 0) {
        free(buf);
        return MHD_NO;
    }
    return web_send(conn, MHD_HTTP_OK, "application/json; charset=utf-8", buf, len, cookie, NULL);
}

/* Runs an API route for a signed-in session. */
static enum MHD_Result
web_run(web_server *sv, struct MHD_Connection *conn, const web_route *rt, const char *method,
        const char *url, const webauth_session *s, const web_form *query, const web_form *form,
        web_req *rq)
{
    web_call c;
    rz_error err = {0, ""};
    int rc;
    memset(&c, 0, sizeof c);
    c.app = &sv->app;
    c.method = method;
    c.url = url;
    c.s = s;
    c.query = query;
    c.form = form;
    c.body = rq && rq->body ? rq->body : "";
    c.body_len = rq ? rq->len : 0;
    c.status = MHD_HTTP_OK;
    c.ctype = "application/json; charset=utf-8";
    if (rt->admin && !s->is_admin)
        return web_json_error(conn, MHD_HTTP_FORBIDDEN,
                              "only an administrator may do this; ask one of them", NULL);
    if (!(c.out = open_memstream(&c.buf, &c.len)))
        return MHD_NO;
    /* Every change made through this request is noted under this account. */
    if ((rc = node_store_set_actor(sv->app.ns, s->user, &err)) == 0)
        rc = rt->fn(&c, &err);
    if (node_store_set_actor(sv->app.ns, NULL, NULL) != 0)
        log_warnx("web: cannot clear the actor");
    if (c.out && fclose(c.out) != 0)
        rc = rc ? rc : RZ_E_NOMEM;
    if (!c.out)
        rc = rc ? rc : RZ_E_NOMEM;
    if (rc) {
        free(c.buf);
        log_warnx("web: %s %s: %s", method, url, err.text[0] ? err.text : rz_err_name(rc));
        if (rc == RZ_E_BUSY)
            return web_json_error(conn, MHD_HTTP_SERVICE_UNAVAILABLE,
                                  "the database is busy (a sync or an import?); try again", NULL);
        return web_json_error(conn, MHD_HTTP_INTERNAL_SERVER_ERROR,
                              "something went wrong on this PC; nothing was changed", NULL);
    }
    return web_send(conn, c.status, c.ctype, c.buf, c.len, NULL, c.disposition);
}

static enum MHD_Result
web_handle(web_server *sv, struct MHD_Connection *conn, const char *url, const char *method,
           web_req *rq)
{
    const char *host = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_HOST);
    const char *cookie = MHD_lookup_connection_value(conn, MHD_COOKIE_KIND, WEBAUTH_COOKIE_NAME);
    const char *scheme = sv->app.tls ? "https" : "http";
    int is_post = strcmp(method, MHD_HTTP_METHOD_POST) == 0;
    int is_get =
        strcmp(method, MHD_HTTP_METHOD_GET) == 0 || strcmp(method, MHD_HTTP_METHOD_HEAD) == 0;
    const web_route *rt = NULL;
    webauth_session s;
    web_form query, form;
    web_qs *qs;
    rz_error err = {0, ""};
    char clear[WEBAUTH_COOKIE_MAX], msg[600];
    const char *why = NULL;
    enum MHD_Result ret;
    size_t i;

    memset(&query, 0, sizeof query);
    memset(&form, 0, sizeof form);
    if (!webauth_host_ok(host, sv->host_ptrs)) {
        char h[64];
        log_sanitize(h, sizeof h, host ? host : "", host ? strlen(host) : 0);
        snprintf(msg, sizeof msg,
                 "This centre app answers only at its own address (%s); the address typed "
                 "(%s) is not one of its names.",
                 sv->app.url, h);
        return web_error_page(conn, MHD_HTTP_MISDIRECTED_REQUEST, "Wrong address", msg, NULL);
    }
    if (!is_post && !is_get)
        return web_error_page(conn, MHD_HTTP_METHOD_NOT_ALLOWED, "Not allowed",
                              "This address only answers GET and POST.", NULL);
    if (is_post && !webauth_origin_ok(MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Origin"),
                                      MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Referer"),
                                      scheme, host))
        return web_error_page(conn, MHD_HTTP_FORBIDDEN, "Form refused",
                              "This form was not sent from the centre app's own pages (another "
                              "web site, or a browser that hides where a form came from). It "
                              "was refused.",
                              NULL);
    if (rq && rq->too_big)
        return web_error_page(conn, MHD_HTTP_CONTENT_TOO_LARGE, "Too large",
                              rq->limit == WEB_UPLOAD_MAX
                                  ? "The file is larger than 16 MB. Split the spreadsheet into "
                                    "smaller files."
                                  : "The form is larger than this app accepts.",
                              NULL);
    qs = xcalloc(1, sizeof *qs);
    MHD_get_connection_values_n(conn, MHD_GET_ARGUMENT_KIND, web_qs_collect, qs);
    if (qs->over || web_form_parse(&query, qs->buf, qs->len, &why) != 0) {
        free(qs);
        web_form_free(&query);
        return web_error_page(conn, MHD_HTTP_BAD_REQUEST, "Bad address",
                              why ? why : "The address is too long.", NULL);
    }
    free(qs);

    for (i = 0; web_routes[i].path; i++)
        if (strcmp(web_routes[i].path, url) == 0 &&
            strcmp(web_routes[i].method, is_post ? "POST" : "GET") == 0) {
            rt = &web_routes[i];
            break;
        }
    if (is_post && !(rt && rt->upload)) {
        if (web_form_parse(&form, rq && rq->body ? rq->body : "", rq ? rq->len : 0, &why) != 0) {
            ret = web_error_page(conn, MHD_HTTP_BAD_REQUEST, "Form refused", why, NULL);
            goto out;
        }
    }

    /* Pages and sign-in need no session. */
    if (is_get) {
        for (i = 0; i < sizeof web_files / sizeof web_files[0]; i++)
            if (strcmp(url, web_files[i].url) == 0)
                break;
        if (i < sizeof web_files / sizeof web_files[0] && strcmp(url, "/") != 0) {
            ret = web_file(sv, conn, web_files[i].file, web_files[i].ctype);
            goto out;
        }
    }
    if (is_post && strcmp(url, "/login") == 0) {
        ret = web_login(sv, conn, &form);
        goto out;
    }
    if (is_post && strcmp(url, "/logout") == 0) {
        if (webauth_logout(sv->app.wa, cookie, &err) != 0)
            log_warnx("web: sign-out: %s", err.text);
        webauth_set_cookie(clear, sizeof clear, "", sv->app.tls);
        ret = web_send(conn, MHD_HTTP_OK, "application/json; charset=utf-8",
                       xstrdup("{\"ok\":true}\n"), 12, clear, NULL);
        goto out;
    }
    if (!rt && !(is_get && strcmp(url, "/") == 0)) {
        ret = web_is_api(url) ? web_json_error(conn, MHD_HTTP_NOT_FOUND, "no such page", NULL)
                              : web_error_page(conn, MHD_HTTP_NOT_FOUND, "Not found",
                                               "There is no such page in the centre app.", NULL);
        goto out;
    }

    /* Everything else needs a session of this node. */
    if (webauth_check(sv->app.wa, cookie, hlc_wall_ms(), &s, &err) != 0) {
        webauth_set_cookie(clear, sizeof clear, "", sv->app.tls);
        if (!cookie && is_get && strcmp(url, "/") == 0)
            ret = web_redirect(conn, "/login");
        else if (web_is_api(url) && !is_post)
            ret = web_json_error(conn, MHD_HTTP_UNAUTHORIZED, err.text, cookie ? clear : NULL);
        else
            ret = web_error_page(conn, MHD_HTTP_UNAUTHORIZED, "Please sign in", err.text,
                                 cookie ? clear : NULL);
        goto out;
    }
    if (is_get && strcmp(url, "/") == 0) {
        ret = web_file(sv, conn, "index.html", "text/html; charset=utf-8");
        goto out;
    }
    if (is_post) {
        const char *tok = web_form_get(&form, "csrf");
        if (!tok)
            tok = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "X-CSRF-Token");
        if (!webauth_csrf_ok(&s, tok)) {
            ret = web_error_page(conn, MHD_HTTP_FORBIDDEN, "Form refused",
                                 "This form is missing the page's security token (an old page, "
                                 "or a form from another web site). Reload the page and try "
                                 "again.",
                                 NULL);
            goto out;
        }
    }
    ret = web_run(sv, conn, rt, method, url, &s, &query, is_post ? &form : NULL, rq);
out:
    web_form_free(&query);
    web_form_free(&form);
    return ret;
}

static enum MHD_Result
web_on_request(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
               const char *version, const char *upload_data, size_t *upload_data_size,
               void **req_cls)
{
    web_server *sv = cls;
    web_req *rq = *req_cls;
    (void)version;
    if (!rq) {
        const char *cl =
            MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
        rq = xcalloc(1, sizeof *rq);
        rq->limit = strcmp(url, "/api/import") == 0 ? WEB_UPLOAD_MAX : WEB_FORM_MAX;
        if (cl && strtoull(cl, NULL, 10) > rq->limit)
            rq->too_big = 1; /* refused once the (discarded) body is read */
        *req_cls = rq;
        return MHD_YES;
    }
    if (*upload_data_size) {
        size_t n = *upload_data_size;
        if (!rq->too_big && rq->len + n > rq->limit)
            rq->too_big = 1;
        if (!rq->too_big) {
            if (rq->len + n + 1 > rq->cap) {
                size_t cap = rq->cap ? rq->cap : 4096;
                while (cap < rq->len + n + 1)
                    cap *= 2;
                rq->body = xrealloc(rq->body, cap);
                rq->cap = cap;
            }
            memcpy(rq->body + rq->len, upload_data, n);
            rq->len += n;
            rq->body[rq->len] = '\0';
        }
        *upload_data_size = 0;
        return MHD_YES;
    }
    return web_handle(sv, conn, url, method, rq);
}

static void
web_on_done(void *cls, struct MHD_Connection *conn, void **req_cls,
            enum MHD_RequestTerminationCode toe)
{
    web_req *rq = *req_cls;
    (void)cls, (void)conn, (void)toe;
    if (rq) {
        free(rq->body);
        free(rq);
        *req_cls = NULL;
    }
}

RZ_PRINTF(2, 0)
static void
web_mhd_log(void *cls, const char *fmt, va_list ap)
{
    char line[256];
    size_t n;
    (void)cls;
    vsnprintf(line, sizeof line, fmt, ap);
    n = strlen(line);
    while (n && (line[n - 1] == '\n' || line[n - 1] == '\r'))
        line[--n] = '\0';
    log_debug("web: %s", line);
}

/* ---- listening ---- */

typedef struct web_addr {
    char host[256];             /* host part as given */
    char port[8];               /* port digits */
    struct sockaddr_storage ss; /* resolved */
    socklen_t len;              /* its length */
} web_addr;

static int
web_resolve(const char *text, web_addr *a, rz_error *err)
{
    char buf[300], *port;
    struct addrinfo hints, *ai = NULL;
    size_t n = text ? strlen(text) : 0;
    int gai;
    memset(a, 0, sizeof *a);
    if (n == 0 || n >= sizeof buf)
        return rz_fail(err, RZ_E_ARG, "--listen wants HOST:PORT, e.g. 127.0.0.1:8080");
    memcpy(buf, text, n + 1);
    if (buf[0] == '[') {
        char *end = strchr(buf, ']');
        if (!end || end[1] != ':')
            return rz_fail(err, RZ_E_ARG, "--listen: expected [IPv6]:PORT");
        *end = '\0';
        port = end + 2;
        snprintf(a->host, sizeof a->host, "%.255s", buf + 1);
    } else {
        port = strrchr(buf, ':');
        if (!port || strchr(buf, ':') != port)
            return rz_fail(err, RZ_E_ARG, "--listen wants HOST:PORT, e.g. 192.168.1.10:8443");
        *port++ = '\0';
        snprintf(a->host, sizeof a->host, "%.255s", buf);
    }
    if (!a->host[0] || !port[0] || strspn(port, "0123456789") != strlen(port) || strlen(port) > 5 ||
        atol(port) > 65535)
        return rz_fail(err, RZ_E_ARG, "--listen: bad host or port in '%s'", text);
    snprintf(a->port, sizeof a->port, "%s", port);
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICSERV;
    if ((gai = getaddrinfo(a->host, a->port, &hints, &ai)) != 0 || !ai)
        return rz_fail(err, RZ_E_ARG, "--listen %s: %s", text, gai_strerror(gai));
    memcpy(&a->ss, ai->ai_addr, ai->ai_addrlen);
    a->len = ai->ai_addrlen;
    freeaddrinfo(ai);
    return 0;
}

/* 1 for 127.0.0.1 and ::1: this PC only.  Every other address, even the
 * rest of 127/8, is treated as reachable by others and gets HTTPS. */
static int
web_is_local(const struct sockaddr_storage *ss)
{
    if (ss->ss_family == AF_INET)
        return ((const struct sockaddr_in *)ss)->sin_addr.s_addr == htonl(INADDR_LOOPBACK);
    if (ss->ss_family == AF_INET6)
        return IN6_IS_ADDR_LOOPBACK(&((const struct sockaddr_in6 *)ss)->sin6_addr);
    return 0;
}

static int
web_is_wildcard(const struct sockaddr_storage *ss)
{
    if (ss->ss_family == AF_INET)
        return ((const struct sockaddr_in *)ss)->sin_addr.s_addr == htonl(INADDR_ANY);
    if (ss->ss_family == AF_INET6)
        return IN6_IS_ADDR_UNSPECIFIED(&((const struct sockaddr_in6 *)ss)->sin6_addr);
    return 0;
}

static void
web_host_add1(web_server *sv, const char *h)
{
    int i;
    if (sv->nhosts >= WEB_HOSTS_MAX)
        return;
    for (i = 0; i < sv->nhosts; i++)
        if (strcasecmp(sv->hosts[i], h) == 0)
            return;
    snprintf(sv->hosts[sv->nhosts], WEB_HOST_LEN, "%s", h);
    sv->host_ptrs[sv->nhosts] = sv->hosts[sv->nhosts];
    sv->nhosts++;
    sv->host_ptrs[sv->nhosts] = NULL;
}

/* Accepts name:port, and name alone on the scheme's default port (browsers
 * leave it out); remembers name for a self-signed certificate. */
static void
web_host_add(web_server *sv, const char *name, int port, int v6)
{
    char h[WEB_HOST_LEN];
    snprintf(h, sizeof h, v6 ? "[%s]:%d" : "%s:%d", name, port);
    web_host_add1(sv, h);
    if ((port == 443 && sv->app.tls) || (port == 80 && !sv->app.tls)) {
        snprintf(h, sizeof h, v6 ? "[%s]" : "%s", name);
        web_host_add1(sv, h);
    }
    if (sv->nsan < WEB_SAN_MAX) {
        int i;
        for (i = 0; i < sv->nsan; i++)
            if (strcasecmp(sv->san[i], name) == 0)
                return;
        snprintf(sv->san[sv->nsan], WEB_HOST_LEN, "%s", name);
        sv->san_ptrs[sv->nsan] = sv->san[sv->nsan];
        sv->nsan++;
        sv->san_ptrs[sv->nsan] = NULL;
    }
}

/* The names staff may type: the listen address, this PC's addresses when
 * listening on all of them, localhost on 127.0.0.1, the given name and the
 * machine's host name.  Sets the URL staff are told to open: the given
 * name, else the listen address, else (all addresses) the first address
 * that is not loopback. */
static void
web_hosts(web_server *sv, const web_addr *a, const char *name, int port)
{
    char hn[256], first[256] = "";
    struct ifaddrs *ifa = NULL, *i;
    int first_v6 = 0;
    if (web_is_wildcard(&a->ss) && getifaddrs(&ifa) != 0)
        log_warnx("web: cannot list this PC's addresses (%s); listen on the address staff type "
                  "(listen=192.168.1.10:8443) or give --name",
                  strerror(errno));
    if (web_is_wildcard(&a->ss) && ifa) {
        for (i = ifa; i; i = i->ifa_next) {
            char ip[INET6_ADDRSTRLEN];
            int fam = i->ifa_addr ? i->ifa_addr->sa_family : 0;
            if ((fam != AF_INET && fam != AF_INET6) || !(i->ifa_flags & IFF_UP))
                continue;
            if (getnameinfo(i->ifa_addr,
                            fam == AF_INET ? sizeof(struct sockaddr_in)
                                           : sizeof(struct sockaddr_in6),
                            ip, sizeof ip, NULL, 0, NI_NUMERICHOST) != 0 ||
                strchr(ip, '%'))
                continue;
            web_host_add(sv, ip, port, fam == AF_INET6);
            if (!first[0] && !(i->ifa_flags & IFF_LOOPBACK)) {
                snprintf(first, sizeof first, "%s", ip);
                first_v6 = fam == AF_INET6;
            }
        }
        freeifaddrs(ifa);
    } else {
        web_host_add(sv, a->host, port, a->ss.ss_family == AF_INET6);
        snprintf(first, sizeof first, "%s", a->host);
        first_v6 = a->ss.ss_family == AF_INET6;
    }
    if (web_is_local(&a->ss) || web_is_wildcard(&a->ss))
        web_host_add(sv, "localhost", port, 0);
    if (name && name[0])
        web_host_add(sv, name, port, 0);
    if (gethostname(hn, sizeof hn) == 0 && hn[0]) {
        hn[sizeof hn - 1] = '\0';
        web_host_add(sv, hn, port, 0);
    }
    if (name && name[0])
        snprintf(first, sizeof first, "%.45s", name), first_v6 = 0;
    else if (!first[0])
        snprintf(first, sizeof first, "localhost");
    snprintf(sv->app.url, sizeof sv->app.url, first_v6 ? "%s://[%s]:%d/" : "%s://%s:%d/",
             sv->app.tls ? "https" : "http", first, port);
}

/* Plain HTTP on the HTTPS port: one short plain answer, then close. */
static void
web_refuse_plain(web_server *sv, int fd)
{
    char body[700], resp[1000];
    int n;
    snprintf(body, sizeof body,
             "This Rozgar centre app only answers over HTTPS, because it is reachable from "
             "other computers.\r\nOpen %s\r\nand check that the browser shows this "
             "certificate fingerprint (SHA-256):\r\n%s\r\n",
             sv->app.url, sv->app.fingerprint);
    n = snprintf(resp, sizeof resp,
                 "HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain; charset=utf-8\r\n"
                 "Content-Length: %zu\r\nConnection: close\r\n\r\n%s",
                 strlen(body), body);
    if (n > 0 && send(fd, resp, (size_t)n, MSG_NOSIGNAL) < 0)
        log_debug("web: plain answer not sent: %s", strerror(errno));
    shutdown(fd, SHUT_WR);
    close(fd);
}

/* A connection accepted on the HTTPS port whose first byte is awaited. */
typedef struct web_pending {
    int fd;                     /* the socket */
    struct sockaddr_storage ss; /* its peer */
    socklen_t sl;               /* length of ss */
    uint64_t since_ms;          /* accepted at (monotonic enough: wall clock) */
} web_pending;

/* Sorts one pending connection by its first byte: a TLS client speaks first
 * with a handshake record (0x16) and goes to libmicrohttpd; anything else is
 * plain HTTP and gets web_refuse_plain; a closed or failed one is dropped. */
static void
web_sort_pending(web_server *sv, web_pending *p)
{
    unsigned char b = 0;
    if (recv(p->fd, &b, 1, MSG_PEEK | MSG_DONTWAIT) != 1)
        close(p->fd);
    else if (b != 0x16)
        web_refuse_plain(sv, p->fd);
    else if (MHD_add_connection(sv->mhd, p->fd, (struct sockaddr *)&p->ss, p->sl) != MHD_YES)
        log_debug("web: connection not taken (limit reached)"); /* MHD closed it */
}

/* Accepts on the HTTPS port.  Connections wait for their first byte
 * together (at most WEB_PENDING_MAX, each at most WEB_PEEK_MS), so a client
 * that connects and stays silent delays nobody else. */
static void *
web_acceptor(void *arg)
{
    web_server *sv = arg;
    web_pending pend[WEB_PENDING_MAX];
    struct pollfd pfd[WEB_PENDING_MAX + 1];
    int n = 0, i;
    while (!sv->stopping) {
        uint64_t now;
        pfd[0].fd = n < WEB_PENDING_MAX ? sv->lfd : -1;
        pfd[0].events = POLLIN;
        pfd[0].revents = 0;
        for (i = 0; i < n; i++) {
            pfd[i + 1].fd = pend[i].fd;
            pfd[i + 1].events = POLLIN;
            pfd[i + 1].revents = 0;
        }
        if (poll(pfd, (nfds_t)n + 1, 200) < 0 && errno != EINTR)
            break;
        now = hlc_wall_ms();
        /* Sort those that spoke (or hung up); drop those silent too long. */
        for (i = n - 1; i >= 0; i--) {
            int ready = pfd[i + 1].revents != 0;
            if (!ready && now - pend[i].since_ms < WEB_PEEK_MS && now >= pend[i].since_ms)
                continue;
            if (ready)
                web_sort_pending(sv, &pend[i]);
            else
                close(pend[i].fd);
            pend[i] = pend[--n];
        }
        if (pfd[0].revents & POLLIN) {
            web_pending *p = &pend[n];
            p->sl = sizeof p->ss;
            p->fd = accept4(sv->lfd, (struct sockaddr *)&p->ss, &p->sl, SOCK_CLOEXEC);
            if (p->fd >= 0) {
                p->since_ms = now;
                n++;
            }
        }
    }
    for (i = 0; i < n; i++)
        close(pend[i].fd);
    return NULL;
}

static int
web_listen_socket(const web_addr *a, rz_error *err)
{
    int one = 1, fd = socket(a->ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return rz_fail(err, RZ_E_IO, "socket: %s", strerror(errno));
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (a->ss.ss_family == AF_INET6)
        setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
    if (bind(fd, (const struct sockaddr *)&a->ss, a->len) != 0 || listen(fd, 64) != 0) {
        int e = errno;
        close(fd);
        return rz_fail(err, RZ_E_IO, "cannot listen on %s:%s: %s", a->host, a->port, strerror(e));
    }
    return fd;
}

static int
web_port_of(int fd)
{
    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;
    if (getsockname(fd, (struct sockaddr *)&ss, &sl) != 0)
        return 0;
    return ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
                                          : ((struct sockaddr_in *)&ss)->sin_port);
}

int
node_web_accounts(const char *dir, node_store *ns, webauth **out, rz_error *err)
{
    char db[PATH_MAX], hex[2 * RZ_NODE_ID_BYTES + 1];
    webauth_config cfg;
    if (snprintf(db, sizeof db, "%s/%s", dir, NODE_DB_FILE) >= (int)sizeof db)
        return rz_fail(err, RZ_E_ARG, "data directory path too long");
    hex_encode(hex, node_store_node_id(ns), RZ_NODE_ID_BYTES);
    memset(&cfg, 0, sizeof cfg);
    cfg.roles = web_roles;
    cfg.bind = hex;
    return webauth_open(out, db, &cfg, err);
}

static volatile sig_atomic_t web_stop_flag;

static void
web_on_signal(int sig)
{
    (void)sig;
    web_stop_flag = 1;
}

int
node_web_serve(const char *dir, node_store *ns, const node_web_opts *o, rz_error *err)
{
    web_server *sv;
    web_addr a;
    webtls_cert cert;
    const char *webdir = getenv("RZ_NODE_WEB_DIR");
    const char *listen = o && o->listen ? o->listen : NODE_WEB_LISTEN_DEFAULT;
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG;
    struct sigaction sa;
    sigset_t stop_sigs, old_sigs;
    int rc, port, admins = 0;

    memset(&cert, 0, sizeof cert);
    if ((rc = web_resolve(listen, &a, err)) != 0)
        return rc;
    /* Every thread started from here on (libmicrohttpd's, the acceptor, the
     * syncs) blocks the stop and trigger signals, so only this thread, which
     * merely sleeps, is ever interrupted by them; the others read the flags
     * the handlers set. */
    sigemptyset(&stop_sigs);
    sigaddset(&stop_sigs, SIGINT);
    sigaddset(&stop_sigs, SIGTERM);
    sigaddset(&stop_sigs, SIGUSR1);
    pthread_sigmask(SIG_BLOCK, &stop_sigs, &old_sigs);
    sv = xcalloc(1, sizeof *sv);
    sv->lfd = -1;
    pthread_mutex_init(&sv->app.sync_mu, NULL);
    snprintf(sv->app.dir, sizeof sv->app.dir, "%s", dir);
    sv->app.ns = ns;
    sv->app.sync_timeout_ms = o ? o->sync_timeout_ms : 0;
    sv->app.bg_interval_ms = o ? o->sync_interval_ms : 0;
    hex_encode(sv->app.node_hex, node_store_node_id(ns), RZ_NODE_ID_BYTES);
    if (webdir && webdir[0])
        snprintf(sv->app.web_dir, sizeof sv->app.web_dir, "%s", webdir);
    else if (rz_share_path(sv->app.web_dir, sizeof sv->app.web_dir, "web/node") != 0) {
        rc = rz_fail(err, RZ_E_CONFIG, "web assets path too long");
        goto out;
    }
    sv->app.tls = (o && o->tls) || !web_is_local(&a.ss);
    {
        /* The district picker's list; without it districts are typed. */
        char path[PATH_MAX];
        rz_error perr = {0, ""};
        if (rz_share_path(path, sizeof path, "data/places.tsv") != 0 ||
            places_load(&sv->app.places, path, &perr) != 0)
            log_warnx("web: no places list (%s); districts are typed freely", perr.text);
    }
    if ((rc = node_web_accounts(dir, ns, &sv->app.wa, err)) != 0 ||
        (rc = webauth_admin_count(sv->app.wa, &admins, err)) != 0)
        goto out;
    if (admins == 0)
        log_warnx("no administrator account yet: create one with `rozgar-node -d %s staff add "
                  "NAME --role admin`",
                  dir);

    sv->lfd = web_listen_socket(&a, err);
    if (sv->lfd < 0) {
        rc = sv->lfd;
        sv->lfd = -1;
        goto out;
    }
    port = web_port_of(sv->lfd);
    web_hosts(sv, &a, o ? o->name : NULL, port);

    if (sv->app.tls) {
        if ((rc = webtls_load_or_make(dir, o ? o->cert : NULL, o ? o->key : NULL, "rozgar-node",
                                      sv->san_ptrs, &cert, err)) != 0)
            goto out;
        snprintf(sv->app.fingerprint, sizeof sv->app.fingerprint, "%s", cert.fingerprint);
        flags |= MHD_USE_TLS | MHD_USE_ITC;
        sv->mhd = MHD_start_daemon(
            flags | MHD_USE_NO_LISTEN_SOCKET, 0, NULL, NULL, web_on_request, sv,
            MHD_OPTION_HTTPS_MEM_KEY, cert.key_pem, MHD_OPTION_HTTPS_MEM_CERT, cert.cert_pem,
            MHD_OPTION_CONNECTION_LIMIT, (unsigned)WEB_CONN_LIMIT, MHD_OPTION_CONNECTION_TIMEOUT,
            (unsigned)WEB_CONN_TIMEOUT_S, MHD_OPTION_NOTIFY_COMPLETED, web_on_done, sv,
            MHD_OPTION_EXTERNAL_LOGGER, web_mhd_log, NULL, MHD_OPTION_END);
    } else {
        sv->mhd = MHD_start_daemon(
            flags, 0, NULL, NULL, web_on_request, sv, MHD_OPTION_LISTEN_SOCKET, sv->lfd,
            MHD_OPTION_CONNECTION_LIMIT, (unsigned)WEB_CONN_LIMIT, MHD_OPTION_CONNECTION_TIMEOUT,
            (unsigned)WEB_CONN_TIMEOUT_S, MHD_OPTION_NOTIFY_COMPLETED, web_on_done, sv,
            MHD_OPTION_EXTERNAL_LOGGER, web_mhd_log, NULL, MHD_OPTION_END);
        if (sv->mhd)
            sv->lfd = -1; /* libmicrohttpd owns and closes it now */
    }
    if (!sv->mhd) {
        rc = rz_fail(err, RZ_E_IO, "cannot start the web server on %s", listen);
        goto out;
    }
    if (sv->app.tls) {
        if (pthread_create(&sv->acceptor, NULL, web_acceptor, sv) != 0) {
            rc = rz_fail(err, RZ_E_IO, "cannot start the acceptor thread");
            goto out;
        }
        sv->acceptor_running = 1;
    }

    printf("centre app: open %s\n", sv->app.url);
    if (sv->app.tls)
        printf("certificate fingerprint (SHA-256), check it in the browser:\n  %s\n",
               sv->app.fingerprint);
    if (admins == 0)
        printf("no administrator yet: rozgar-node -d %s staff add NAME --role admin\n", dir);
    printf("background sync: %s\n", o && o->background_sync
                                        ? "on (to the configured server, as `sync --watch`)"
                                        : "off (--no-sync); the Sync button syncs");
    printf("serving (Ctrl-C to stop)\n");
    fflush(stdout);
    if (o && o->ready_file &&
        file_write_atomic(o->ready_file, sv->app.url, strlen(sv->app.url), 0644, NULL) != 0)
        log_warnx("web: cannot write %s", o->ready_file);

    memset(&sa, 0, sizeof sa);
    sa.sa_handler = web_on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    /* SIGUSR1 (`sync --now` from the command line) only sets the trigger the
     * background loop reads; without the loop it is ignored, never fatal. */
    node_lock_listen(0);
    if (o && o->background_sync && (rc = web_sync_start_background(&sv->app, err)) != 0)
        goto out;
    pthread_sigmask(SIG_SETMASK, &old_sigs, NULL);
    for (unsigned tick = 1; !web_stop_flag; tick++) {
        rz_error e2 = {0, ""};
        sleep(1);
        /* Ended sessions are refused anyway; this only keeps the table small. */
        if (tick % 60 == 0 && webauth_expire(sv->app.wa, hlc_wall_ms(), &e2) != 0)
            log_debug("web: session housekeeping: %s", e2.text);
    }
    log_info("web: stopping");
    rc = 0;
out:
    pthread_sigmask(SIG_SETMASK, &old_sigs, NULL);
    sv->stopping = 1;
    sv->app.sync_stop = 1;
    if (sv->acceptor_running)
        pthread_join(sv->acceptor, NULL);
    if (sv->mhd)
        MHD_stop_daemon(sv->mhd);
    web_sync_shutdown(&sv->app);
    if (sv->lfd >= 0)
        close(sv->lfd);
    webauth_destroy(&sv->app.wa);
    places_destroy(&sv->app.places);
    webtls_free(&cert);
    pthread_mutex_destroy(&sv->app.sync_mu);
    free(sv);
    return rc;
}

/*
 * test_webtls: common/webtls.  A self-signed certificate is made once (key
 * file 0600), loaded again with the same fingerprint, refused when its key
 * file is readable by others or belongs to another certificate, and a
 * configured pair is loaded from given paths.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/webtls.h"

static void
rm_rf(const char *dir)
{
    char cmd[160];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
}

static void
test_make_and_reload(void **state)
{
    static const char *const names[] = {"127.0.0.1", "localhost", "::1", "centre-pc", NULL};
    char a[64] = "/tmp/rz-webtls-a.XXXXXX", b[64] = "/tmp/rz-webtls-b.XXXXXX";
    char kpath[128], cpath[128], fpr[WEBTLS_FPR_CHARS];
    webtls_cert c, d;
    rz_error err = {0, ""};
    struct stat st;
    (void)state;
    assert_non_null(mkdtemp(a));
    assert_non_null(mkdtemp(b));
    assert_int_equal(webtls_load_or_make(a, NULL, NULL, "rozgar-node", names, &c, &err), 0);
    assert_true(c.made);
    assert_non_null(strstr(c.cert_pem, "BEGIN CERTIFICATE"));
    assert_int_equal(strlen(c.fingerprint), 95); /* 32 bytes as XX: pairs */
    snprintf(fpr, sizeof fpr, "%s", c.fingerprint);
    snprintf(kpath, sizeof kpath, "%s/%s", a, WEBTLS_KEY_FILE);
    snprintf(cpath, sizeof cpath, "%s/%s", a, WEBTLS_CERT_FILE);
    assert_int_equal(stat(kpath, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    webtls_free(&c);
    assert_null(c.key_pem);

    /* Second start: the same certificate. */
    assert_int_equal(webtls_load_or_make(a, NULL, NULL, "rozgar-node", names, &c, &err), 0);
    assert_false(c.made);
    assert_string_equal(c.fingerprint, fpr);
    webtls_free(&c);

    /* Configured paths. */
    assert_int_equal(webtls_load_or_make(b, cpath, kpath, "x", NULL, &c, &err), 0);
    assert_string_equal(c.fingerprint, fpr);
    webtls_free(&c);
    assert_int_equal(webtls_load_or_make(b, cpath, NULL, "x", NULL, &c, &err), RZ_E_CONFIG);

    /* Another certificate's key does not fit. */
    assert_int_equal(webtls_load_or_make(b, NULL, NULL, "other", names, &d, &err), 0);
    webtls_free(&d);
    {
        char other_key[128];
        snprintf(other_key, sizeof other_key, "%s/%s", b, WEBTLS_KEY_FILE);
        assert_int_equal(webtls_load_or_make(b, cpath, other_key, "x", NULL, &c, &err),
                         RZ_E_CONFIG);
        assert_non_null(strstr(err.text, "does not belong"));
    }
    /* A key others can read is refused. */
    assert_int_equal(chmod(kpath, 0644), 0);
    assert_int_equal(webtls_load_or_make(a, NULL, NULL, "rozgar-node", names, &c, &err),
                     RZ_E_CONFIG);
    assert_non_null(strstr(err.text, "chmod 600"));
    /* Not PEM. */
    assert_int_equal(chmod(kpath, 0600), 0);
    {
        FILE *f = fopen(cpath, "w");
        assert_non_null(f);
        fputs("hello\n", f);
        fclose(f);
    }
    assert_int_equal(webtls_load_or_make(a, NULL, NULL, "rozgar-node", names, &c, &err),
                     RZ_E_CONFIG);
    rm_rf(a);
    rm_rf(b);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_make_and_reload)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}

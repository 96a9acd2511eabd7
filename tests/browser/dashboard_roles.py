#!/usr/bin/python3
"""The headquarters dashboard by role, in Debian's chromium (headless,
DevTools protocol): an analyst signs in on the real sign-in page and sees the
figures but no administration panel, and the page never asks for an
/api/admin/ route; an administrator sees the panel with the accounts, the
tokens and the register of lawful requests, and looks a person up by CNIC.
Called by dashboard_roles_test.sh, which starts the server over HTTPS.

Usage: dashboard_roles.py URL ANALYST ANALYST_PASS ADMIN ADMIN_PASS PERSON_ID
"""
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from cdp import Browser  # noqa: E402

checks = 0


def ok(cond, what):
    global checks
    if not cond:
        raise AssertionError(what)
    checks += 1
    print(f"   ok  {what}", flush=True)


def sign_in(b, url, user, password):
    b.goto(url + "/login")
    b.wait("document.querySelector('input[name=user]')", "the sign-in form")
    b.eval(f"""(() => {{
      document.querySelector('input[name=user]').value = {json.dumps(user)};
      document.querySelector('input[name=password]').value = {json.dumps(password)};
      document.querySelector('form[action="/login"] button').click(); return true; }})()""")
    try:
        b.wait("location.pathname === '/' && document.body.dataset.state === 'ready'",
               f"the dashboard after {user} signed in")
    except Exception:
        print("   page:", b.eval("location.href + ' state=' + document.body.dataset.state + ' '"
                               " + document.body.innerText.slice(0, 300)"), flush=True)
        raise
    b.wait("document.getElementById('whoami').textContent.indexOf('Signed in as') === 0",
           "the signed-in line")


def admin_requests(b):
    return b.eval("performance.getEntriesByType('resource').map(e => e.name)"
                  ".filter(n => n.indexOf('/api/admin/') >= 0).length")


def main():
    url, analyst, apass, admin, dpass, person = sys.argv[1:7]
    b = Browser()
    try:
        print("-- an analyst")
        sign_in(b, url, analyst, apass)
        ok(b.eval("document.getElementById('kpi-registered').textContent") not in ("", "–"),
           "the analyst sees the figures")
        ok(b.eval("document.getElementById('admin').hidden") is True,
           "the analyst sees no administration panel")
        ok(b.eval("document.getElementById('admin').offsetParent === null"),
           "the administration panel takes no room on the analyst's page")
        ok(admin_requests(b) == 0, "the analyst's page asks for no /api/admin/ route")
        ok("administrator" not in b.eval("document.getElementById('whoami').textContent"),
           "the analyst is not called an administrator")
        b.wait("document.querySelectorAll('#f-register option').length === 2",
               "the places-as-at choice")
        b.eval("(() => { const s = document.getElementById('f-register'); s.value = '1';"
               "s.dispatchEvent(new Event('change', {bubbles: true})); return true; })()")
        b.wait("location.hash.indexOf('register_version=1') >= 0 && "
               "document.body.dataset.state === 'ready' && document.getElementById('banner')"
               ".textContent.indexOf('register stood at version 1') >= 0",
               "the dashboard as at register version 1")
        place = b.eval("Array.from(document.querySelectorAll('#place-table tbody tr'))"
                       ".map(r => r.cells[0].textContent + '=' + r.cells[1].textContent).join(',')")
        ok("Punjab=1" in place, f"places as at version 1: the centre still in Punjab ({place})")
        b.eval("(() => { const s = document.getElementById('f-register'); s.value = '';"
               "s.dispatchEvent(new Event('change', {bubbles: true})); return true; })()")
        b.wait("location.hash.indexOf('register_version') < 0 && "
               "document.body.dataset.state === 'ready'", "today's places again")
        place = b.eval("Array.from(document.querySelectorAll('#place-table tbody tr'))"
                       ".map(r => r.cells[0].textContent + '=' + r.cells[1].textContent).join(',')")
        ok("Sindh=1" in place, f"back to today's places: the centre moved to Sindh ({place})")
        status = b.eval("fetch('/api/admin/accounts').then(r => r.status)")
        ok(status == 403, f"an analyst's own request for the accounts is refused ({status})")
        b.eval("document.querySelector('#signout button').click(); true")
        b.wait("location.pathname === '/login'", "the sign-in page after sign-out")

        print("-- an administrator")
        sign_in(b, url, admin, dpass)
        b.wait("!document.getElementById('admin').hidden", "the administration panel")
        ok(True, "the administrator sees the administration panel")
        b.wait("document.querySelectorAll('#admin-accounts tbody tr').length === 2", "the accounts")
        names = b.eval("Array.from(document.querySelectorAll('#admin-accounts tbody tr'))"
                       ".map(r => r.cells[0].textContent + ':' + r.cells[1].textContent)")
        ok(names == [f"{admin}:admin", f"{analyst}:analyst"], f"the accounts and their roles {names}")
        b.wait("document.querySelectorAll('#admin-tokens tbody tr').length === 1", "the tokens")
        ok(True, "the administrator sees the API tokens")
        b.eval("document.getElementById('admin-cnic').value = '35202-1234567-2';"
               "document.querySelector('#admin-lookup button').click(); true")
        b.wait("!document.getElementById('admin-persons').hidden", "the lookup's answer")
        found = b.eval("document.querySelector('#admin-persons tbody tr').cells[0].textContent")
        ok(found == person, f"the CNIC lookup finds the person ({found})")
        b.wait("document.querySelectorAll('#admin-lawful tbody tr').length === 1",
               "the lookup in the register")
        row = b.eval("document.querySelector('#admin-lawful tbody tr').textContent")
        ok("lookup" in row and "35202-*******-2" in row and "1234567" not in row,
           "the lookup is in the register, the CNIC masked")
    finally:
        b.close()
    print(f"browser-roles: {checks} checks passed, 0 failed")


if __name__ == "__main__":
    main()

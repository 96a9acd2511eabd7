#!/usr/bin/python3
"""Drives the centre app in Debian's chromium (headless, DevTools protocol)
as a member of staff would, and saves a screenshot of each page at phone
(400 px) and desktop (1280 px) width.  Called by centre_app_test.sh, which
starts the server and the node's app and compares the server's totals with
what this script recorded (written as JSON to OUT).

Usage: centre_app.py URL USER PASSWORD SHOTS_DIR OUT.json
       centre_app.py URL USER PASSWORD SHOTS_DIR FINGERPRINT --clock
"""
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from cdp import Browser, CDPError  # noqa: E402

checks = 0

# Helpers defined in the page before each step (setting a value the way a
# person typing would: input and change events).
JS = r"""
window.T = {
  q: (s) => document.querySelector(s),
  all: (s) => Array.from(document.querySelectorAll(s)),
  set(sel, v) {
    const e = document.querySelector(sel);
    if (!e) throw new Error("no element " + sel);
    e.value = v;
    e.dispatchEvent(new Event("input", {bubbles: true}));
    e.dispatchEvent(new Event("change", {bubbles: true}));
  },
  click(sel) {
    const e = document.querySelector(sel);
    if (!e) throw new Error("no element " + sel);
    e.click();
  },
  text: (sel) => { const e = document.querySelector(sel); return e ? e.textContent.trim() : null; },
  async api(path) { return (await fetch(path, {credentials: "same-origin"})).json(); },
  file(sel, name, text) {
    const dt = new DataTransfer();
    dt.items.add(new File([text], name, {type: "text/csv"}));
    const e = document.querySelector(sel);
    e.files = dt.files;
    e.dispatchEvent(new Event("change", {bubbles: true}));
  },
};
true
"""


def ok(cond, what):
    global checks
    if not cond:
        raise AssertionError(what)
    checks += 1
    print(f"   ok  {what}", flush=True)


class App:
    def __init__(self, b, url, shots):
        self.b, self.url, self.shots = b, url.rstrip("/"), shots

    def js(self, expr):
        self.b.eval(JS)
        return self.b.eval(expr)

    def ready(self, what):
        self.b.wait("document.body && document.body.dataset.state === 'ready'", what)

    def page(self, hash_, what):
        self.b.eval(f"location.hash = {json.dumps(hash_)}")
        time.sleep(0.05)
        self.b.wait(f"document.body.dataset.page === {json.dumps(hash_.split('/')[1] or 'home')}"
                    " && document.body.dataset.state !== 'loading'", what)
        state = self.b.eval("document.body.dataset.state")
        if state != "ready":
            flash = self.b.eval("document.getElementById('flash').textContent")
            raise AssertionError(f"{what}: page state {state}: {flash}")

    def shot(self, name):
        for label, w in (("phone", 400), ("desktop", 1280)):
            self.b.width(w)
            time.sleep(0.25)
            if w == 400:
                sw = self.b.eval("document.documentElement.scrollWidth")
                if sw > 400:
                    raise AssertionError(f"{name}: the page is {sw} px wide on a 400 px phone")
            path = os.path.join(self.shots, f"{name}-{label}.png")
            size = self.b.screenshot(path)
            if size < 2000:
                raise AssertionError(f"screenshot {path} is only {size} bytes")
        self.b.width(1280)
        print(f"   --  screenshot {name} (400 px and 1280 px)", flush=True)

    def persons(self):
        return self.js("T.api('/api/persons?limit=1').then(r => r.total)")


def main():
    url, user, password, shots, out = sys.argv[1:6]
    os.makedirs(shots, exist_ok=True)
    b = Browser()
    app = App(b, url, shots)
    try:
        if len(sys.argv) > 6 and sys.argv[6] == "--clock":
            clock(app, user, password, out)  # OUT is the fingerprint here
        else:
            run(app, user, password, out)
    except (AssertionError, CDPError):
        # What the page showed when it failed, for the log and a picture.
        try:
            print("   page: " + json.dumps(b.eval(
                "({hash: location.hash, state: document.body.dataset.state, "
                "flash: (document.getElementById('flash') || {}).textContent})")), file=sys.stderr)
            b.screenshot(os.path.join(shots, "FAILED.png"))
        except Exception:
            pass
        raise
    finally:
        b.close()
    if len(sys.argv) <= 6:
        print(f"browser-app: {checks} passed, 0 failed")


def run(app, user, password, out):
    b = app.b
    today = time.strftime("%Y-%m-%d", time.gmtime(time.time() + 5 * 3600))

    print("-- sign in")
    b.goto(app.url + "/")
    b.wait("location.pathname === '/login' && document.getElementById('login-form')", "the sign-in page")
    ok(True, "/ sends a browser without a session to the sign-in page")
    app.shot("01-sign-in")
    app.js(f"T.set('#user', {json.dumps(user)}); T.set('#password', 'not the password'); T.click('#login-button')")
    b.wait("!document.getElementById('login-error').hidden", "the sign-in error")
    ok("wrong username or password" in app.js("T.text('#login-error')"), "a wrong password is refused on the page")
    app.js(f"T.set('#user', {json.dumps(user)}); T.set('#password', {json.dumps(password)}); T.click('#login-button')")
    b.wait("location.pathname === '/' && document.body.dataset.state === 'ready'", "the app after sign-in")
    ok(app.js("T.text('#who')").startswith(user), f"signed in as {user}")
    app.shot("02-home-empty")
    app.page("#/find", "find (empty)")
    ok("No one registered yet" in app.js("T.text('#find-count')"), "an empty centre says so on the find page")
    app.shot("03-find-empty")

    print("-- register two people, one with an Urdu name")
    app.page("#/register", "register")
    app.js("T.set('#p-birth_year', 'abc'); T.click('#person-save')")
    b.wait("T.text('.msg[data-for=name]')", "field messages")
    ok(app.js("T.text('.msg[data-for=name]')") != "", "a missing name is explained next to the name field: "
       + app.js("T.text('.msg[data-for=name]')"))
    ok(app.js("T.text('.msg[data-for=birth_year]')") != "", "a bad birth year is explained next to its field: "
       + app.js("T.text('.msg[data-for=birth_year]')"))
    app.shot("04-register-errors")
    ok(app.persons() == 0, "nothing was saved")
    app.js("""T.set('#p-name', 'Ayesha Khan'); T.set('#p-gender', 'female'); T.set('#p-birth_year', '2001');
              T.set('#p-cnic', '35202-1234567-2'); T.set('#p-phone', '0300-1234567');
              T.set('#p-district', 'Lahore'); T.set('#p-area', 'urban'); T.set('#p-skill', 'white-collar');
              T.click('#person-save')""")
    b.wait("document.getElementById('last-saved')", "the first person saved")
    first = app.js("T.q('#last-saved a').textContent")
    ok(first != "", f"Ayesha Khan saved with short code {first}")
    urdu = "عائشہ بی بی"
    app.js(f"""T.set('#p-name', {json.dumps(urdu)}); T.set('#p-gender', 'female'); T.set('#p-birth_year', '1999');
               T.set('#p-cnic', '3520276543214'); T.set('#p-district', 'Lahore'); T.set('#p-area', 'rural');
               true""")
    ok(app.js("T.q('#p-name').lang") == "ur", "the Urdu name field switches to Urdu (right to left, Nastaliq)")
    app.shot("05-register-urdu")
    app.js("T.click('#person-save')")
    b.wait(f"T.q('#last-saved a') && T.q('#last-saved a').textContent !== {json.dumps(first)}", "the second person saved")
    ok(app.persons() == 2, "two people registered")

    print("-- the duplicate warning")
    app.js("""T.set('#p-name', 'Ayesha K.'); T.set('#p-gender', 'female'); T.set('#p-birth_year', '2001');
              T.set('#p-cnic', '3520212345672'); T.click('#person-save')""")
    b.wait("!document.getElementById('dup-box').hidden", "the duplicate warning")
    dup = app.js("T.text('#dup-list')")
    ok("same CNIC" in dup and "Ayesha Khan" in dup, f"a third with the same CNIC is warned before saving: {dup}")
    ok(app.persons() == 2, "nothing saved while the warning shows")
    app.shot("06-duplicate-warning")
    app.js("T.click('#dup-list a.open-existing')")
    b.wait("document.body.dataset.page === 'person' && document.body.dataset.state === 'ready'", "the existing record")
    ok(app.js("T.q('#p-name').value") == "Ayesha Khan", "the warning opens the existing record")
    app.shot("07-person")

    print("-- find")
    app.page("#/find", "find")
    app.js("T.set('#find-q', '3520212345672'); T.q('#find-form').requestSubmit()")
    b.wait("(T.text('#find-count') || '').includes('1 found')", "the search by CNIC")
    ok(app.js("T.text('#find-table tbody')").find("Ayesha Khan") >= 0, "found by CNIC without dashes")
    app.js("T.set('#find-q', '35202-7654321-4'); T.q('#find-form').requestSubmit()")
    b.wait(f"(T.text('#find-table tbody') || '').includes({json.dumps(urdu)})", "the search by CNIC with dashes")
    ok(True, "found the Urdu name by CNIC with dashes")
    app.js("T.set('#find-q', 'عائشہ'); T.q('#find-form').requestSubmit()")
    b.wait("(T.text('#find-count') || '').includes('1 found')", "the search by part of an Urdu name")
    ok(True, "found by part of the Urdu name")
    app.js("T.set('#find-q', ''); T.q('#find-form').requestSubmit()")
    b.wait("(T.text('#find-count') || '').includes('2 found')", "everyone")
    app.shot("08-find")

    print("-- open, correct, delete, undelete")
    app.js(f"T.q('#find-table a.person-link[data-code=\"{first}\"]').click()")
    b.wait("document.body.dataset.page === 'person' && document.body.dataset.state === 'ready'", "the record")
    app.js("T.set('#p-phone', '0321 7654321'); T.click('#person-save')")
    b.wait("document.body.dataset.state === 'ready' && (T.text('#flash') || '').startsWith('Saved')", "the correction")
    phone = app.js(f"T.api('/api/persons?q={first}').then(r => r.rows[0].phone)")
    ok(phone.replace(" ", "").endswith("3217654321"), f"the phone number is corrected ({phone})")
    app.js("window.confirm = () => true; T.click('#person-delete')")
    b.wait("T.q('#deleted-note')", "the deleted record")
    ok(app.persons() == 1, "deleted: one person listed")
    app.js("T.click('#person-delete')")
    b.wait("document.body.dataset.state === 'ready' && !T.q('#deleted-note') && T.text('#person-delete') === 'Delete'", "the undelete")
    ok(app.persons() == 2, "undeleted: two people again")

    print("-- an event and its attendance")
    app.page("#/events", "events")
    app.js(f"""T.set('#e-kind', 'bootcamp'); T.set('#e-title', 'Upwork bootcamp'); T.set('#e-date', '{today}');
               T.set('#e-duration', '180'); T.click('#event-save')""")
    b.wait("(T.text('#events-upcoming') || '').includes('Upwork bootcamp')", "the event in the upcoming list")
    ok(True, "the event is created and listed under upcoming")
    app.shot("09-events")
    app.js("T.click('#events-upcoming a[data-attend]')")
    b.wait("document.body.dataset.page === 'attendance' && document.body.dataset.state === 'ready'", "the attendance page")
    app.shot("10-attendance-empty")
    codes = app.js("T.all('.roster li').map(li => li.dataset.code)")
    ok(len(codes) == 2, f"the attendance list shows the 2 people ({codes})")
    for c in codes:
        app.js(f"T.click('.roster li[data-code=\"{c}\"] input[value=present]')")
        b.wait(f"T.q('.roster li[data-code=\"{c}\"]').dataset.state === 'present'", "a tick saved")
    ok(app.js("T.text('#att-counts')").startswith("2 present · 0 absent"), "ticking both: the count says 2 present")
    urdu_code = app.js(f"T.all('.roster li').find(li => li.textContent.includes({json.dumps(urdu)})).dataset.code")
    app.js(f"T.click('.roster li[data-code=\"{urdu_code}\"] input[value=absent]')")
    b.wait("T.text('#att-counts').startsWith('1 present · 1 absent')", "the count after a change")
    ok(True, "changing one to absent: 1 present · 1 absent")
    app.js("T.set('#q-name', 'Bilal Ahmed'); T.set('#q-gender', 'male'); T.q('#quick-add').requestSubmit()")
    b.wait("T.text('#att-counts').startsWith('2 present · 1 absent · 3 people')", "the person added on the spot")
    ok(True, "a person added on the spot is registered and marked present")
    app.js("T.set('#att-q', 'bilal')")
    b.wait("T.all('.roster li').length === 1", "the search in the list")
    ok(True, "searching the attendance list narrows it")
    app.js("T.set('#att-q', '')")
    b.wait("T.all('.roster li').length === 3", "the whole list")
    app.shot("11-attendance")
    event_id = app.js("location.hash.split('/')[2]")
    roster = app.js(f"T.api('/api/roster?event={event_id}')")

    print("-- import a spreadsheet")
    bad_csv = ("Full Name,Gender,CNIC No,Mobile,Year of Birth,District\r\n"
               "Sana Javed,F,35202-1111111-1,0301-2345678,2003,Lahore\r\n"
               ",male,,,1990,Lahore\r\n"
               "Hamza Iqbal,malee,,,1995,Multan\r\n"
               "زینب نور,female,,,2000,Lahore\r\n"
               "Imran Khan,male,,,nineteen,Peshawar\r\n")
    app.page("#/import", "import")
    app.js(f"T.set('#imp-kind', 'people'); T.file('#imp-file', 'people.csv', {json.dumps(bad_csv)}); T.click('#imp-check')")
    b.wait("T.q('#imp-summary')", "the import check")
    lines = app.js("T.all('#imp-problems li').map(li => Number(li.dataset.line))")
    ok(lines == [3, 4, 6], f"bad rows are listed with their line numbers: {lines}")
    ok("Nothing was imported" in app.js("T.text('#imp-summary')"), "the page says nothing was imported")
    ok(app.js("T.q('#imp-go').disabled"), "the Import button stays off until the rows are fixed")
    cols = app.js("T.all('#imp-columns tr.matched td').map(td => td.textContent)")
    ok(len(cols) == 6 and all(c.startswith("→") for c in cols), f"every column is matched to a field: {cols}")
    ok(app.persons() == 3, "nothing imported")
    app.shot("12-import-bad-rows")
    good_csv = bad_csv.replace(",male,,,1990", "Bilal Raza,male,,,1990").replace("malee", "male").replace("nineteen", "1988")
    app.js(f"T.file('#imp-file', 'people.csv', {json.dumps(good_csv)}); T.click('#imp-check')")
    b.wait("T.q('#imp-summary') && !T.q('#imp-go').disabled", "the corrected file checked")
    ok("5 would be added" in app.js("T.text('#imp-summary')"), "the corrected file would add 5")
    app.js("T.click('#imp-go')")
    b.wait("(T.text('#imp-summary') || '').startsWith('Imported')", "the import")
    ok(app.persons() == 8, "imported: 8 people now")
    app.shot("13-import-done")
    app.js(f"T.file('#imp-file', 'people.csv', {json.dumps(good_csv)}); T.click('#imp-check')")
    b.wait("(T.text('#imp-summary') || '').includes('0 would be added')", "the same file again")
    ok(True, "the same file again would add nothing")

    print("-- sync")
    app.page("#/sync", "sync")
    # serve syncs by itself (background sync): what was recorded a moment
    # ago may already be gone; the page says the automatic sync is on.
    pending = app.js("T.api('/api/sync').then(s => s.pending)")
    ok(app.js("T.text('#sync-auto')").startswith("on"), f"automatic sync is on ({pending} changes wait)")
    app.shot("14-sync-waiting")
    app.js("T.click('#sync-now')")
    # The outcome of this click (an automatic sync's may be on the page already).
    b.wait(f"T.q('#sync-result') && T.text('#sync-result').includes('started by {user}')", "the sync outcome", timeout=90)
    ok(app.js("T.q('#sync-result').dataset.ok") == "true", "Sync now: " + app.js("T.text('#sync-result b')"))
    ok(app.js("T.api('/api/sync').then(s => s.pending)") == 0, "nothing waits any more")
    ok(app.js("T.q('#sync-bar').value === T.q('#sync-bar').max"), "the progress bar is full")
    ok(app.js("T.api('/api/sync').then(s => s.last_ok)") != "", "the last successful sync has a time")
    app.shot("15-sync-done")

    print("-- administrators' pages")
    app.page("#/staff", "staff")
    ok(user in app.js("T.text('#staff-table')"), "the staff page lists the accounts")
    app.shot("16-staff")
    app.page("#/export", "export")
    csv = app.js("fetch('/api/export?kind=people').then(r => r.arrayBuffer()).then(b => Array.from(new Uint8Array(b).slice(0, 3)))")
    ok(csv == [0xEF, 0xBB, 0xBF], "export is CSV with a UTF-8 byte-order mark (Excel)")
    app.shot("17-export")

    people = app.persons()
    rec = {"registered": people, "present": roster["counts"]["present"],
           "absent": roster["counts"]["absent"], "events": 1}
    json.dump(rec, open(out, "w"))
    print(f"-- recorded in the browser: {rec}")


def sign_in(app, user, password):
    app.b.goto(app.url + "/login")
    app.js(f"T.set('#user', {json.dumps(user)}); T.set('#password', {json.dumps(password)}); T.click('#login-button')")
    app.b.wait("location.pathname === '/' && document.body.dataset.state === 'ready'", "the app after sign-in")


def clock(app, user, password, fingerprint):
    """The app restarted over HTTPS on a PC whose clock is a day behind the
    server time it saw at the last sync: the home page shows the
    certificate's fingerprint, every page the clock warning."""
    print("-- over HTTPS, a PC clock a day behind")
    ok(app.url.startswith("https://"), f"served over HTTPS at {app.url}")
    sign_in(app, user, password)
    shown = app.js("T.text('#fingerprint code')")
    ok(shown == fingerprint, f"the home page shows the certificate fingerprint printed by serve ({shown[:23]}...)")
    app.shot("18-home-https")
    ok(not app.js("T.q('#clock-warning').hidden"), "the clock warning is shown: " + app.js("T.text('#clock-warning')"))
    app.page("#/sync", "sync")
    app.shot("19-clock-warning")


if __name__ == "__main__":
    try:
        main()
    except (AssertionError, CDPError) as e:
        print(f"FAIL: {e}", file=sys.stderr)
        sys.exit(1)

// Sign-in page: posts the form with fetch so a wrong password is shown on
// this page; the session cookie (HttpOnly) is set by the answer.
"use strict";
document.addEventListener("DOMContentLoaded", () => {
  const form = document.getElementById("login-form");
  const err = document.getElementById("login-error");
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    err.hidden = true;
    const body = new URLSearchParams(new FormData(form));
    let res, data = {};
    try {
      res = await fetch("/login", {method: "POST", body, credentials: "same-origin"});
      const type = res.headers.get("Content-Type") || "";
      if (type.startsWith("application/json")) data = await res.json();
      else {
        const doc = new DOMParser().parseFromString(await res.text(), "text/html");
        const m = doc.getElementById("msg");
        data.error = m ? m.textContent : "sign-in failed";
      }
    } catch (e) {
      data.error = "the centre app does not answer; is rozgar-node serve running?";
    }
    if (res && res.ok && data.ok) {
      location.href = "/";
      return;
    }
    err.textContent = data.error || "sign-in failed";
    err.hidden = false;
    document.getElementById("password").value = "";
  });
});

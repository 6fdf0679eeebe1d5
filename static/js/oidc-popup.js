/* Sign-in with the identity provider inside the intranet's frame.
 *
 * Identity providers refuse to be framed, so inside a frame the login page's "Sign in with …"
 * button opens the sign-in in a window of its own (a pop-up; without JavaScript its
 * target="_blank" opens a tab). The sign-in ends on /accounts/oidc/popup-done/, whose page hands
 * the frame a one-time token (postMessage, to this origin only) and closes; the frame posts the
 * token to /accounts/oidc/handoff/ and is signed in. A frame that gets no token (the window was
 * closed, or the browser cut it off from its opener) reloads when the window closes: on the
 * same site the frame shares the window's session.
 */
(function () {
  "use strict";

  const MESSAGE = "dashboard-oidc-handoff";

  // In the pop-up window, at the end of the sign-in.
  const done = document.querySelector("[data-oidc-handoff]");
  if (done) {
    const opener = window.opener;
    if (opener && !opener.closed) {
      opener.postMessage(
        { type: MESSAGE, token: done.getAttribute("data-oidc-handoff") },
        window.location.origin
      );
      window.close();
    }
    return;
  }

  // On the login page, inside a frame.
  const link = document.querySelector("a[data-oidc-popup]");
  const form = document.getElementById("oidc-handoff");
  if (!link || !form || window.top === window.self) return;

  let handedOff = false;
  window.addEventListener("message", function (event) {
    if (event.origin !== window.location.origin) return;
    if (!event.data || event.data.type !== MESSAGE || handedOff) return;
    handedOff = true;
    form.elements.token.value = String(event.data.token);
    form.submit();
  });

  link.addEventListener("click", function (event) {
    const popup = window.open(
      link.getAttribute("data-oidc-popup"),
      "dashboard-oidc",
      "popup,width=520,height=700"
    );
    if (!popup) return; // blocked: the link's own target="_blank" opens a tab instead
    event.preventDefault();
    const timer = window.setInterval(function () {
      if (!popup.closed) return;
      window.clearInterval(timer);
      // Give a message posted just before closing its moment to arrive.
      window.setTimeout(function () {
        if (!handedOff) window.location.reload();
      }, 300);
    }, 500);
  });
})();

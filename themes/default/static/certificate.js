// Challenge-signature sign-in: fetch a nonce, have the local Ukey helper sign it, post the
// certificate and signature. The helper's interface is described in docs/ukey-helper.md.
(function () {
  var form = document.getElementById("challenge-form");
  var button = document.getElementById("ukey-sign");
  var status = document.getElementById("ukey-status");
  if (!form || !button) {
    return;
  }
  button.addEventListener("click", function () {
    status.textContent = form.dataset.working;
    var body = new URLSearchParams({ csrf_token: form.elements.csrf_token.value });
    fetch("/login/certificate/challenge", { method: "POST", body: body })
      .then(function (response) {
        if (!response.ok) {
          throw new Error("challenge HTTP " + response.status);
        }
        return response.json();
      })
      .then(function (challenge) {
        form.elements.nonce.value = challenge.nonce;
        return fetch(form.dataset.helper + "/sign", {
          method: "POST",
          headers: { "Content-Type": "application/json" },
          body: JSON.stringify({
            nonce: challenge.nonce,
            algorithms: ["SM3withSM2", "SHA256withRSA", "SHA256withECDSA"],
          }),
        });
      })
      .then(function (response) {
        if (!response.ok) {
          throw new Error("helper HTTP " + response.status);
        }
        return response.json();
      })
      .then(function (signed) {
        form.elements.certificate.value = signed.certificate;
        form.elements.signature.value = signed.signature;
        form.elements.algorithm.value = signed.algorithm;
        form.elements.pin_verified.value = signed.pin_verified ? "true" : "false";
        form.submit();
      })
      .catch(function (error) {
        status.textContent = form.dataset.failed + " (" + error.message + ")";
      });
  });
})();

// Sends the SMS code request in the background, so the page keeps what the user typed. Without
// JavaScript the button still posts the form to /login/sms-code and the page is rendered again.
(function () {
  var button = document.getElementById("send-code");
  var status = document.getElementById("code-status");
  if (!button || !status || !window.fetch) {
    return;
  }
  button.addEventListener("click", function (event) {
    event.preventDefault();
    var form = button.form;
    var body = new URLSearchParams({
      phone: form.elements.phone.value,
      csrf_token: form.elements.csrf_token.value,
      request_id: form.elements.request_id.value,
    });
    button.disabled = true;
    fetch(button.getAttribute("formaction"), { method: "POST", headers: { Accept: "application/json" }, body: body })
      .then(function (response) {
        return response.json();
      })
      .then(function (result) {
        status.textContent = result.message;
        status.className = result.status === "sent" ? "notice" : "error";
        var wait = result.status === "sent" ? 60 : result.retry_after || 0;
        setTimeout(function () {
          button.disabled = false;
        }, wait * 1000);
      })
      .catch(function () {
        status.textContent = button.dataset.failed;
        status.className = "error";
        button.disabled = false;
      });
  });
})();

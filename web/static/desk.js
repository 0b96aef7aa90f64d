// The desk form: choosing another procedure reloads its checklist at once, keeping what was
// typed, so the receipt is never filed under a procedure other than the one shown.
document.addEventListener("change", function (event) {
  var select = event.target;
  var buttonId = select.getAttribute && select.getAttribute("data-reload-with");
  var button = buttonId && document.getElementById(buttonId);
  if (button && select.form) { select.form.requestSubmit(button); }
});

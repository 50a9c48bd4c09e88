// SPARTA console: copy buttons and live parts. Every page also works without script.
"use strict";
document.addEventListener("click", function (event) {
  var button = event.target.closest("button.copy");
  if (!button) { return; }
  var source = document.getElementById(button.getAttribute("data-copy"));
  if (!source || !navigator.clipboard) { return; }
  navigator.clipboard.writeText(source.textContent).then(function () {
    var label = button.textContent;
    button.textContent = "Copied";
    setTimeout(function () { button.textContent = label; }, 1500);
  });
});

// Live parts: an element with data-stream follows the Server-Sent Events of that URL (each
// `live` event is its new content, drawn by the server).
document.querySelectorAll("[data-stream]").forEach(function (element) {
  if (!window.EventSource) { return; }
  var source = new EventSource(element.getAttribute("data-stream"));
  source.addEventListener("live", function (event) { element.innerHTML = event.data; });
});

// Shows a dossier's process diagram with its waiting steps (and escalated ones) highlighted.
// The container carries the data: data-diagram-url, data-active and data-escalated (JSON ids).
(function () {
  "use strict";
  document.querySelectorAll("[data-diagram-url]").forEach(function (container) {
    var viewer = new BpmnJS({ container: container });
    fetch(container.dataset.diagramUrl, { credentials: "same-origin" })
      .then(function (response) { return response.text(); })
      .then(function (xml) { return viewer.importXML(xml); })
      .then(function () {
        var canvas = viewer.get("canvas");
        canvas.zoom("fit-viewport");
        JSON.parse(container.dataset.done || "[]").forEach(function (id) {
          canvas.addMarker(id, "step-done");
        });
        JSON.parse(container.dataset.active || "[]").forEach(function (id) {
          canvas.addMarker(id, "step-active");
        });
        JSON.parse(container.dataset.escalated || "[]").forEach(function (id) {
          canvas.addMarker(id, "step-escalated");
        });
        container.setAttribute("data-rendered", "true");
      })
      .catch(function (error) {
        container.textContent = container.dataset.errorText || String(error);
      });
  });
})();

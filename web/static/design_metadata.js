// The metadata form: "Add a document" copies the last row of the documents table, emptied.
document.querySelector("[data-add-document]").addEventListener("click", function () {
  var body = document.getElementById("documents");
  var row = body.lastElementChild.cloneNode(true);
  row.querySelectorAll("input").forEach(function (input) { input.value = input.name === "doc_copies" ? "1" : ""; });
  row.querySelector("select").value = "no";
  body.appendChild(row);
});

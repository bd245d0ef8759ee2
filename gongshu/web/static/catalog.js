/* Catalog entry form: add and remove rows of the fields table (progressive enhancement).
   Without JavaScript the form still offers blank rows; this only adds buttons. */
(function () {
  "use strict";
  var script = document.currentScript;
  var table = document.getElementById("fields-table");
  if (!table) { return; }
  var body = table.tBodies[0];
  var addText = (script && script.dataset.add) || "+";
  var removeText = (script && script.dataset.remove) || "×";

  function renumber() {
    Array.prototype.forEach.call(body.rows, function (row, i) {
      row.cells[0].textContent = String(i + 1);
      row.querySelectorAll("[name^='fields-']").forEach(function (el) {
        el.name = el.name.replace(/^fields-\d+-/, "fields-" + i + "-");
      });
    });
  }

  function addRemoveButton(row) {
    var cell = row.insertCell(-1);
    var btn = document.createElement("button");
    btn.type = "button";
    btn.className = "link row-remove";
    btn.textContent = removeText;
    btn.addEventListener("click", function () {
      if (body.rows.length > 1) {
        row.remove();
      } else {
        row.querySelectorAll("input").forEach(function (el) {
          if (el.type === "checkbox") { el.checked = false; } else { el.value = ""; }
        });
      }
      renumber();
    });
    cell.appendChild(btn);
  }

  function addRow() {
    var last = body.rows[body.rows.length - 1];
    var row = last.cloneNode(true);
    row.querySelectorAll("input").forEach(function (el) {
      if (el.type === "checkbox") { el.checked = false; } else { el.value = ""; }
    });
    row.querySelectorAll("select").forEach(function (el) { el.selectedIndex = 0; });
    row.querySelectorAll(".field-error").forEach(function (el) { el.remove(); });
    row.deleteCell(-1);
    addRemoveButton(row);
    body.appendChild(row);
    renumber();
    var first = row.querySelector("input");
    if (first) { first.focus(); }
  }

  table.tHead.rows[0].appendChild(document.createElement("th"));
  Array.prototype.forEach.call(body.rows, addRemoveButton);
  var add = document.createElement("button");
  add.type = "button";
  add.className = "btn btn-secondary row-add";
  add.textContent = addText;
  add.addEventListener("click", addRow);
  table.parentNode.insertAdjacentElement("afterend", add);
  var hint = table.parentNode.parentNode.querySelector(".no-js-hint");
  if (hint) { hint.hidden = true; }
})();

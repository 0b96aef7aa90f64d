// The designers' modeler: bpmn-js with a properties panel for what MotCua reads from the
// diagram (lane roles, forms and step deadlines, gateway conditions, timers), saving to the
// draft, validation with the problems marked on the diagram, and deployment.
(function () {
  "use strict";
  var root = document.getElementById("designer");
  if (!root) { return; }
  var text = JSON.parse(document.getElementById("designer-text").textContent);
  // The spiffworkflow:properties extension, as SpiffWorkflow reads it from user tasks.
  var SPIFF = {
    name: "SpiffWorkflow", uri: "http://spiffworkflow.org/bpmn/schema/1.0/core",
    prefix: "spiffworkflow", xml: { tagAlias: "lowerCase" }, associations: [],
    types: [
      { name: "Properties", superClass: ["Element"], meta: { allowedIn: ["*"] },
        properties: [{ name: "values", type: "Property", isMany: true }] },
      { name: "Property", superClass: ["Element"],
        properties: [{ name: "name", type: "String", isAttr: true },
                     { name: "value", type: "String", isAttr: true }] }
    ]
  };
  var modeler = new BpmnJS({
    container: root.querySelector("[data-testid=modeler]"),
    moddleExtensions: { spiffworkflow: SPIFF }
  });
  window.motcuaModeler = modeler;
  var lanes = JSON.parse(root.dataset.lanes || "{}");
  var forms = JSON.parse(root.dataset.forms || "[]");
  var roles = JSON.parse(root.dataset.roles || "[]");
  var newForms = [];
  var panel = root.querySelector("[data-testid=properties]");
  var statusLine = root.querySelector("[data-testid=designer-status]");
  var deployButton = root.querySelector("[data-action=deploy]");
  var selected = null;
  var markers = [];

  function get(name) { return modeler.get(name); }
  function bo(element) { return element.businessObject; }
  function is(element, type) { return bo(element).$instanceOf(type); }
  function status(message, kind) {
    statusLine.textContent = message;
    statusLine.className = "small " + (kind === "error" ? "text-danger" : "text-muted");
  }
  function changed() {
    deployButton.disabled = true;
    root.dataset.validated = "false";
    root.dataset.unsaved = "true";
    status(text.unsaved);
  }

  // --- spiffworkflow:properties of a user task ------------------------------------------
  function spiffProperties(element) {
    var ext = bo(element).extensionElements;
    var found = (ext && ext.values || []).filter(function (v) {
      return v.$type === "spiffworkflow:Properties";
    });
    return found.length ? found[0] : null;
  }
  function spiffValue(element, name) {
    var props = spiffProperties(element);
    var match = (props && props.values || []).filter(function (p) { return p.name === name; });
    return match.length ? match[0].value || "" : "";
  }
  function setSpiffValue(element, name, value) {
    var moddle = get("moddle"), modeling = get("modeling");
    var ext = bo(element).extensionElements;
    var props = spiffProperties(element);
    var property = (props && props.values || []).filter(function (p) { return p.name === name; })[0];
    if (property && !value) {
      modeling.updateModdleProperties(element, props, {
        values: props.values.filter(function (p) { return p !== property; }) });
    } else if (property) {
      modeling.updateModdleProperties(element, property, { value: value });
    } else if (value) {
      var created = moddle.create("spiffworkflow:Property", { name: name, value: value });
      if (props) {
        modeling.updateModdleProperties(element, props, { values: props.values.concat([created]) });
      } else {
        props = moddle.create("spiffworkflow:Properties", { values: [created] });
        if (ext) {
          modeling.updateModdleProperties(element, ext, { values: (ext.values || []).concat([props]) });
        } else {
          ext = moddle.create("bpmn:ExtensionElements", { values: [props] });
          modeling.updateProperties(element, { extensionElements: ext });
        }
      }
    }
  }

  // --- the panel --------------------------------------------------------------------------
  function field(label, control, hint) {
    var wrap = document.createElement("div");
    wrap.className = "mb-3";
    var caption = document.createElement("label");
    caption.className = "form-label small fw-semibold";
    caption.textContent = label;
    control.id = "p-" + Math.random().toString(36).slice(2);
    caption.htmlFor = control.id;
    wrap.appendChild(caption);
    wrap.appendChild(control);
    if (hint) {
      var help = document.createElement("div");
      help.className = "form-text";
      help.textContent = hint;
      wrap.appendChild(help);
    }
    panel.appendChild(wrap);
    return control;
  }
  function input(value, name, onChange) {
    var control = document.createElement("input");
    control.className = "form-control form-control-sm";
    control.value = value || "";
    control.name = name;
    control.addEventListener("change", function () { onChange(control.value.trim()); });
    return control;
  }
  function select(options, value, name, onChange) {
    var control = document.createElement("select");
    control.className = "form-select form-select-sm";
    control.name = name;
    options.forEach(function (option) {
      var item = document.createElement("option");
      item.value = option.value;
      item.textContent = option.label;
      item.selected = option.value === value;
      control.appendChild(item);
    });
    control.addEventListener("change", function () { onChange(control.value); });
    return control;
  }

  function render(element) {
    selected = element;
    panel.textContent = "";
    if (!element || element.type === "label") {
      var empty = document.createElement("p");
      empty.className = "text-muted small mb-0";
      empty.textContent = text.selectHint;
      panel.appendChild(empty);
      return;
    }
    var heading = document.createElement("div");
    heading.className = "small text-muted mb-2";
    var type = bo(element).$type.replace("bpmn:", "");
    type = (text.types || {})[type.charAt(0).toLowerCase() + type.slice(1)] || type;
    heading.textContent = type + " · " + element.id;
    heading.dataset.testid = "selected-element";
    panel.appendChild(heading);
    var modeling = get("modeling");
    var oldName = bo(element).name || "";
    field(text.name, input(oldName, "name", function (value) {
      modeling.updateProperties(element, { name: value });  // laneRenamed moves its role
      render(element);
    }));
    if (is(element, "bpmn:Lane")) { laneFields(element); }
    if (is(element, "bpmn:UserTask")) { userTaskFields(element); }
    if (is(element, "bpmn:SequenceFlow") && bo(element).sourceRef &&
        bo(element).sourceRef.$instanceOf("bpmn:Gateway")) { flowFields(element); }
    var timers = (bo(element).eventDefinitions || []).filter(function (d) {
      return d.$type === "bpmn:TimerEventDefinition";
    });
    if (timers.length) { timerFields(element, timers[0]); }
  }

  function laneFields(element) {
    var name = bo(element).name || "";
    var current = lanes[name] ? lanes[name].role : "";
    var options = [{ value: "", label: text.choose }].concat(roles);
    field(text.role, select(options, current, "role", function (value) {
      if (value) { lanes[name] = Object.assign({}, lanes[name] || {}, { role: value }); }
      else { delete lanes[name]; }
      changed();
    }), text.laneRoleHint);
  }

  function userTaskFields(element) {
    var formKey = spiffValue(element, "formKey");
    var known = forms.concat(newForms);
    var options = [{ value: "", label: "(" + text.noForm + ")" }].concat(known.map(function (f) {
      return { value: f, label: f };
    }));
    if (formKey && known.indexOf(formKey) < 0) { options.push({ value: formKey, label: formKey }); }
    field(text.form, select(options, formKey, "formKey", function (value) {
      setSpiffValue(element, "formKey", value);
    }));
    var group = document.createElement("div");
    group.className = "input-group input-group-sm";
    var key = document.createElement("input");
    key.className = "form-control";
    key.name = "newFormKey";
    key.value = element.id;
    var create = document.createElement("button");
    create.type = "button";
    create.className = "btn btn-outline-primary";
    create.textContent = text.createForm;
    create.addEventListener("click", function () {
      var value = key.value.trim().toLowerCase().replace(/[^a-z0-9_]/g, "_");
      if (!value) { return; }
      if (forms.indexOf(value) < 0 && newForms.indexOf(value) < 0) { newForms.push(value); }
      setSpiffValue(element, "formKey", value);
      render(element);
    });
    group.appendChild(key);
    group.appendChild(create);
    field(text.newForm, group, text.formCreated);
    var sla = input(spiffValue(element, "slaWorkingDays"), "slaWorkingDays", function (value) {
      setSpiffValue(element, "slaWorkingDays", value.replace(",", "."));
    });
    sla.inputMode = "decimal";
    field(text.sla, sla, text.slaHint);
    var extends_ = input(spiffValue(element, "appointmentWorkingDays"), "appointmentWorkingDays",
      function (value) {
        setSpiffValue(element, "appointmentWorkingDays", value.replace(",", "."));
      });
    extends_.inputMode = "decimal";
    field(text.appointmentDays, extends_, text.appointmentDaysHint);
  }

  function flowFields(element) {
    var moddle = get("moddle"), modeling = get("modeling");
    var expression = bo(element).conditionExpression;
    var area = document.createElement("textarea");
    area.className = "form-control form-control-sm font-monospace";
    area.name = "condition";
    area.rows = 2;
    area.value = expression ? expression.body || "" : "";
    area.addEventListener("change", function () {
      var body = area.value.trim();
      modeling.updateProperties(element, { conditionExpression: body ?
        moddle.create("bpmn:FormalExpression", { body: body }) : undefined });
    });
    field(text.condition, area, text.conditionHint);
    var gateway = bo(element).sourceRef;
    var box = document.createElement("input");
    box.type = "checkbox";
    box.className = "form-check-input ms-2";
    box.name = "defaultFlow";
    box.checked = gateway.default === bo(element);
    box.addEventListener("change", function () {
      var gatewayShape = get("elementRegistry").get(gateway.id);
      modeling.updateProperties(gatewayShape, { "default": box.checked ? bo(element) : undefined });
    });
    field(text.defaultFlow, box);
  }

  function timerFields(element, definition) {
    var moddle = get("moddle"), modeling = get("modeling");
    var kinds = ["timeDuration", "timeDate", "timeCycle"];
    var kind = kinds.filter(function (k) { return definition[k]; })[0] || "timeDuration";
    var expression = input(definition[kind] ? definition[kind].body : "", "timer", apply);
    var kindSelect = select(kinds.map(function (k) { return { value: k, label: text[k] }; }),
                            kind, "timerKind", function (value) { kind = value; apply(); });
    function apply() {
      var update = { timeDuration: undefined, timeDate: undefined, timeCycle: undefined };
      if (expression.value.trim()) {
        update[kind] = moddle.create("bpmn:FormalExpression", { body: expression.value.trim() });
      }
      modeling.updateModdleProperties(element, definition, update);
    }
    field(text.timerKind, kindSelect);
    field(text.timerExpression, expression, text.timerHint);
  }

  // --- saving, validating, deploying -------------------------------------------------------
  function post(url, body) {
    return fetch(url, {
      method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": root.dataset.csrf },
      body: JSON.stringify(body)
    }).then(function (response) {
      return response.json().catch(function () { return {}; }).then(function (data) {
        return { ok: response.ok, status: response.status, data: data };
      });
    }, function (error) {
      status(text.failed, "error");  // offline or the server unreachable
      throw error;
    });
  }
  function save() {
    status(text.saving);
    return modeler.saveXML({ format: true }).catch(function (error) {
      // Callers swallow the rejection: the status line must say the draft was not saved.
      status(text.saveFailed + " (" + ((error && error.message) || error) + ")", "error");
      throw error;
    }).then(function (result) {
      return post(root.dataset.saveUrl, { bpmn_xml: result.xml, lanes: lanes, new_forms: newForms });
    }).then(function (reply) {
      if (!reply.ok) {
        status(reply.data.error ? reply.data.error.message : text.failed, "error");
        throw new Error("not saved");
      }
      forms = reply.data.forms || forms;
      newForms = [];
      root.dataset.unsaved = "false";
      status(text.saved);
      return reply;
    });
  }
  function clearMarkers() {
    var canvas = get("canvas");
    markers.forEach(function (m) { canvas.removeMarker(m[0], m[1]); });
    markers = [];
  }
  function showProblems(problems) {
    var registry = get("elementRegistry"), canvas = get("canvas");
    clearMarkers();
    var box = root.querySelector("[data-testid=problems]");
    box.hidden = false;
    ["error", "warning"].forEach(function (severity) {
      var list = box.querySelector("[data-list=" + severity + "]");
      list.textContent = "";
      var mine = problems.filter(function (p) { return (p.severity === "error") === (severity === "error"); });
      box.querySelector("[data-count=" + severity + "]").textContent = mine.length;
      mine.forEach(function (problem) {
        var item = document.createElement("li");
        item.className = "list-group-item";
        item.textContent = problem.message;
        var element = problem.element_id ? registry.get(problem.element_id) : null;
        if (element) {
          var cls = severity === "error" ? "problem-error" : "problem-warning";
          canvas.addMarker(element.id, cls);
          markers.push([element.id, cls]);
          item.dataset.element = element.id;
          item.classList.add("list-group-item-action");
          item.addEventListener("click", function () {
            get("selection").select(element);
            canvas.scrollToElement(element);
          });
        }
        list.appendChild(item);
      });
    });
  }
  function validate() {
    return save().then(function () {
      status(text.validating);
      return post(root.dataset.validateUrl, {});
    }).then(function (reply) {
      showProblems(reply.data.problems || []);
      var clean = reply.ok && reply.data.errors === 0;
      deployButton.disabled = !clean;
      root.dataset.validated = clean ? "clean" : "errors";
      status(clean ? text.valid : text.invalid, clean ? "" : "error");
    }).catch(function () { /* the status line says why */ });
  }
  function deploy() {
    var note = document.getElementById("change-note");
    if (!note.value.trim()) { status(text.noteRequired, "error"); note.focus(); return; }
    deployButton.disabled = true;
    save().then(function () {
      status(text.deploying);
      return post(root.dataset.deployUrl, { change_note: note.value.trim() });
    }).then(function (reply) {
      var result = root.querySelector("[data-testid=deploy-result]");
      result.textContent = "";
      var alert = document.createElement("div");
      alert.setAttribute("role", "alert");
      if (reply.ok) {
        alert.className = "alert alert-success";
        alert.textContent = reply.data.message + " ";
        var link = document.createElement("a");
        link.href = root.dataset.versionsUrl;
        link.textContent = "→";
        alert.appendChild(link);
        note.value = "";
        status("");
      } else {
        alert.className = "alert alert-danger";
        alert.textContent = reply.data.error ? reply.data.error.message : text.failed;
        if (reply.data.error && reply.data.error.problems) { showProblems(reply.data.error.problems); }
      }
      result.appendChild(alert);
    }).catch(function () { /* the status line says why */ });
  }

  root.querySelector("[data-action=save]").addEventListener("click", function () {
    save().catch(function () { /* shown */ });
  });
  root.querySelector("[data-action=validate]").addEventListener("click", validate);
  deployButton.addEventListener("click", deploy);
  modeler.on("selection.changed", function (event) { render(event.newSelection[0] || null); });
  modeler.on("commandStack.changed", changed);
  // The whole diagram in view, clear of the palette that floats over the canvas's left edge.
  function fitBesidePalette() {
    var canvas = get("canvas");
    canvas.zoom("fit-viewport");
    var palette = root.querySelector(".djs-palette");
    var container = root.querySelector("[data-testid=modeler]");
    var width = container.clientWidth;
    var room = palette ? palette.getBoundingClientRect().right -
      container.getBoundingClientRect().left + 12 : 0;
    if (!room || width <= 2 * room) { return; }
    canvas.zoom(canvas.zoom() * (width - room) / width, { x: 0, y: 0 });
    canvas.scroll({ dx: room, dy: 0 });
  }

  // A lane's role is kept under the lane's name: when a lane is renamed, on the canvas or in
  // the panel, its role (and English name) follow the new name.
  var laneNames = {};
  function laneRenamed(element) {
    if (!is(element, "bpmn:Lane")) { return; }
    var before = laneNames[element.id], after = bo(element).name || "";
    laneNames[element.id] = after;
    if (before !== undefined && before !== after && lanes[before] && !lanes[after]) {
      lanes[after] = lanes[before];
      delete lanes[before];
    }
  }
  modeler.on("element.changed", function (event) {
    laneRenamed(event.element);
    if (selected && event.element === selected && !panel.contains(document.activeElement)) {
      render(selected);
    }
  });
  window.addEventListener("beforeunload", function (event) {
    if (root.dataset.unsaved === "true") { event.preventDefault(); }
  });

  fetch(root.dataset.xmlUrl, { credentials: "same-origin" })
    .then(function (response) { return response.text(); })
    .then(function (xml) { return modeler.importXML(xml); })
    .then(function () {
      get("elementRegistry").filter(function (e) { return is(e, "bpmn:Lane"); })
        .forEach(laneRenamed);
      fitBesidePalette();
      root.dataset.ready = "true";
    })
    .catch(function (error) { status(text.loadFailed + " " + error.message, "error"); });
})();

// Progressive enhancement of the review form: without this script the sub-intent select still
// works (grouped by intent, checked on the server); with it, only the chosen intent's sub-intents
// are offered, and Ctrl/Cmd+Enter in the note saves.
(function () {
  "use strict";
  var form = document.getElementById("review-form");
  if (!form) return;
  var intent = form.querySelector("select[name=intent]");
  var sub = form.querySelector("select[name=sub_intent]");
  if (intent && sub) {
    // Keep every option aside once, then put back only the ones of the chosen intent.
    var all = Array.prototype.slice.call(sub.querySelectorAll("option[data-intent]"));
    var groups = Array.prototype.slice.call(sub.querySelectorAll("optgroup"));
    var filter = function () {
      var chosen = intent.value;
      var keep = sub.value;
      groups.forEach(function (group) { group.remove(); });
      all.forEach(function (option) { option.remove(); });
      all.forEach(function (option) {
        if (option.getAttribute("data-intent") === chosen) sub.appendChild(option);
      });
      var stillThere = all.some(function (o) { return o.value === keep && o.parentNode === sub; });
      sub.value = stillThere ? keep : "";
      sub.disabled = sub.options.length <= 1;
    };
    filter();
    intent.addEventListener("change", filter);
  }
  var note = form.querySelector("textarea[name=note]");
  if (note) {
    note.addEventListener("keydown", function (event) {
      if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
        event.preventDefault();
        form.requestSubmit();
      }
    });
  }
})();

// Draws each panel's chart from its JSON; clicking a bar or point opens the conversations behind it.
(function () {
  "use strict";
  if (typeof Chart === "undefined") { return; }
  var drillUrl = JSON.parse(document.getElementById("insights-drill-url").textContent);
  var palette = ["#2563eb", "#16a34a", "#dc2626", "#d97706", "#7c3aed", "#0891b2", "#db2777", "#65a30d", "#475569", "#ea580c"];
  document.querySelectorAll("canvas[data-chart]").forEach(function (canvas) {
    var source = document.getElementById(canvas.dataset.chart);
    if (!source) { return; }
    var data = JSON.parse(source.textContent);
    var stacked = data.type === "stacked";
    var chart = new Chart(canvas, {
      type: "bar",
      data: {
        labels: data.labels,
        datasets: data.datasets.map(function (set, i) {
          return { label: set.label, data: set.data, backgroundColor: palette[i % palette.length] };
        })
      },
      options: {
        responsive: true,
        maintainAspectRatio: false,
        animation: false,
        scales: { x: { stacked: stacked }, y: { stacked: stacked, beginAtZero: true } },
        onHover: function (event, elements) { event.native.target.style.cursor = elements.length ? "pointer" : "default"; },
        onClick: function (event, elements) {
          if (!elements.length) { return; }
          var link = data.links[elements[0].datasetIndex][elements[0].index];
          if (link) { window.location.href = drillUrl + link; }
        }
      }
    });
    canvas.chart = chart;
  });
})();

// The report's charts, from the numbers the page already shows in its tables.
// One unit per value axis (its title says which); counts step by whole numbers; long labels are
// wrapped over lines, never cut or skipped.
(function () {
  if (!window.Chart) return;
  const COLOUR = "#1f6f8b";
  const WRAP = 24; // characters per line of a label (a CJK character counts as two)

  // Split a label into lines of about WRAP columns: at spaces for words, anywhere between CJK characters.
  function wrap(label) {
    const text = String(label);
    const lines = [];
    let line = "";
    let width = 0;
    for (const piece of text.match(/[\u2E80-\u9FFF\uF900-\uFAFF\uFF00-\uFFEF]|[^\s\u2E80-\u9FFF\uF900-\uFAFF\uFF00-\uFFEF]+|\s+/g) || []) {
      const wide = /^[\u2E80-\u9FFF\uF900-\uFAFF\uFF00-\uFFEF]$/.test(piece);
      const size = wide ? 2 : piece.length;
      if (/^\s+$/.test(piece)) {
        if (line) { line += " "; width += 1; }
        continue;
      }
      if (width + size > WRAP && line.trim()) {
        lines.push(line.trim());
        line = "";
        width = 0;
      }
      line += piece;
      width += size;
    }
    if (line.trim()) lines.push(line.trim());
    return lines.length > 1 ? lines : text;
  }

  function valueAxis(chart) {
    return {
      beginAtZero: true,
      title: { display: true, text: chart.unit },
      // precision 0: ticks at whole numbers only (no 0.4 of a complaint).
      ticks: chart.counts ? { precision: 0 } : {},
      grace: "5%",
    };
  }

  function labelAxis() {
    return { ticks: { autoSkip: false, callback: function (value) { return wrap(this.getLabelForValue(value)); } } };
  }

  function draw(canvas, chart, type) {
    const horizontal = Boolean(chart.horizontal);
    const values = chart.values.map((v) => (v === null ? null : v));
    return new window.Chart(canvas, {
      type: type,
      data: {
        labels: chart.labels,
        datasets: [{ label: chart.unit, data: values, backgroundColor: COLOUR, borderColor: COLOUR, spanGaps: true }],
      },
      options: {
        animation: false,
        maintainAspectRatio: false,
        indexAxis: horizontal ? "y" : "x",
        plugins: { legend: { display: false } },
        scales: horizontal ? { x: valueAxis(chart), y: labelAxis() } : { x: labelAxis(), y: valueAxis(chart) },
      },
    });
  }

  for (const chart of JSON.parse(document.getElementById("report-data").textContent)) {
    const canvas = document.getElementById(`chart-${chart.key}`);
    if (canvas && chart.values.length > 0) draw(canvas, chart, "bar");
  }
  for (const trend of JSON.parse(document.getElementById("trend-data").textContent)) {
    const canvas = document.getElementById(`trend-${trend.key}`);
    if (canvas) draw(canvas, trend, trend.counts ? "bar" : "line");
  }
})();

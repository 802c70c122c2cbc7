// Small charts of the volume watch and the weekly statistics, from the JSON the page carries.
// A sparkline per flagged customer (shipments per week, the flagged week last); on the weekly
// statistics page, one bar chart of each customer's shipments this week beside the week before.
(function () {
  if (!window.Chart) return;
  const COLOUR = "#1f6f8b";
  const LAST = "#a33";

  const sparks = document.getElementById("spark-data");
  for (const spark of sparks ? JSON.parse(sparks.textContent) : []) {
    const canvas = document.getElementById(`spark-${spark.key}`);
    if (!canvas) continue;
    const colours = spark.values.map((_, i) => (i === spark.values.length - 1 ? LAST : COLOUR));
    new window.Chart(canvas, {
      type: "line",
      data: { labels: spark.labels, datasets: [{ data: spark.values, borderColor: COLOUR, pointBackgroundColor: colours, pointRadius: 2, tension: 0.2 }] },
      options: {
        animation: false,
        maintainAspectRatio: false,
        plugins: { legend: { display: false }, tooltip: { enabled: true } },
        scales: { x: { display: false }, y: { display: false, beginAtZero: true } },
      },
    });
  }

  const weekly = document.getElementById("weekly-data");
  if (weekly) {
    const chart = JSON.parse(weekly.textContent);
    const canvas = document.getElementById("weekly-chart");
    if (canvas && chart.labels.length > 0) {
      new window.Chart(canvas, {
        type: "bar",
        data: {
          labels: chart.labels,
          datasets: [
            { label: chart.previous_label, data: chart.previous, backgroundColor: "#9ab8c6" },
            { label: chart.week_label, data: chart.values, backgroundColor: COLOUR },
          ],
        },
        options: {
          animation: false,
          maintainAspectRatio: false,
          indexAxis: "y",
          scales: { x: { beginAtZero: true, ticks: { precision: 0 }, title: { display: true, text: chart.unit } } },
        },
      });
    }
  }
})();

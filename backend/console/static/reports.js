// One bar chart per report table, from the numbers the page already shows in its tables.
(function () {
  const charts = JSON.parse(document.getElementById("report-data").textContent);
  for (const chart of charts) {
    const canvas = document.getElementById(`chart-${chart.key}`);
    if (!canvas || !window.Chart || chart.values.length === 0) continue;
    new window.Chart(canvas, {
      type: "bar",
      data: { labels: chart.labels, datasets: [{ label: chart.key, data: chart.values, backgroundColor: "#1f6f8b" }] },
      options: { animation: false, maintainAspectRatio: false, plugins: { legend: { display: false } }, scales: { y: { beginAtZero: true } } },
    });
  }
})();

/* The province dashboard: the period form, the charts (Chart.js) and the map (Leaflet).
 *
 * The figures come from json_script elements written by the page. Communes are drawn as
 * vector circle markers, so they show even when no map tile loads (or tiles are turned off).
 */
(function () {
  "use strict";

  function read(id) {
    var element = document.getElementById(id);
    return element ? JSON.parse(element.textContent) : null;
  }

  var charts = read("dashboard-charts") || {};
  var markers = read("dashboard-markers") || [];
  var mapConfig = read("dashboard-map-config") || {};
  var labels = charts.labels || {};

  // Vietnamese numbers whatever the language: 22,5 tỷ đồng (like the vnd_short filter).
  var oneDecimal = new Intl.NumberFormat("vi-VN", { maximumFractionDigits: 1 });
  var whole = new Intl.NumberFormat("vi-VN", { maximumFractionDigits: 0 });

  function vndShort(value) {
    var size = Math.abs(value);
    if (size >= 1e9) return oneDecimal.format(value / 1e9) + " " + labels.billion;
    if (size >= 1e6) return oneDecimal.format(value / 1e6) + " " + labels.million;
    return whole.format(value) + " " + labels.dong;
  }

  // --- The period form: only the numbers that fit the kind (month 1–12, quarter 1–4…) ---------
  var kindSelect = document.getElementById("period-kind");
  var numberSelect = document.getElementById("period-number");
  function syncNumbers() {
    if (!kindSelect || !numberSelect) return;
    var firstFitting = null;
    Array.prototype.forEach.call(numberSelect.options, function (option) {
      var fits = option.dataset.kinds.split(" ").indexOf(kindSelect.value) !== -1;
      option.hidden = !fits;
      option.disabled = !fits;
      if (fits && firstFitting === null) firstFitting = option;
    });
    var chosen = numberSelect.options[numberSelect.selectedIndex];
    if ((!chosen || chosen.disabled) && firstFitting) firstFitting.selected = true;
  }
  if (kindSelect) {
    kindSelect.addEventListener("change", syncNumbers);
    syncNumbers();
  }

  // --- Charts ------------------------------------------------------------------------------------
  var AREA_COLOURS = {
    economy: "#0d6efd",
    ntm: "#198754",
    party: "#dc3545",
    defence: "#6f42c1",
    welfare: "#fd7e14",
  };

  function moneyAxis(stacked) {
    return { stacked: stacked, beginAtZero: true, ticks: { callback: vndShort } };
  }

  function moneyTooltip(axis) {
    return {
      callbacks: {
        label: function (context) {
          return context.dataset.label + ": " + vndShort(context.parsed[axis]);
        },
      },
    };
  }

  function draw(id, config) {
    var canvas = document.getElementById(id);
    if (canvas && window.Chart) new window.Chart(canvas, config);
  }

  if (window.Chart) {
    window.Chart.defaults.font.family = window.getComputedStyle(document.body).fontFamily;
    window.Chart.defaults.maintainAspectRatio = false;
  }

  if (charts.quarters) {
    draw("chart-quarters", {
      type: "bar",
      data: {
        labels: charts.quarters.labels,
        datasets: charts.quarters.datasets.map(function (dataset) {
          return {
            label: dataset.label,
            data: dataset.data,
            backgroundColor: AREA_COLOURS[dataset.key] || "#6c757d",
          };
        }),
      },
      options: {
        scales: { x: { stacked: true }, y: moneyAxis(true) },
        plugins: { tooltip: moneyTooltip("y"), legend: { labels: { boxWidth: 12 } } },
      },
    });
  }

  if (charts.districts) {
    draw("chart-districts", {
      type: "bar",
      data: {
        labels: charts.districts.labels,
        datasets: [
          { label: labels.period, data: charts.districts.period, backgroundColor: "#dc3545" },
          { label: labels.lastYear, data: charts.districts.last_year, backgroundColor: "#adb5bd" },
        ],
      },
      options: {
        indexAxis: "y",
        scales: { x: moneyAxis(false) },
        plugins: { tooltip: moneyTooltip("x"), legend: { labels: { boxWidth: 12 } } },
      },
    });
  }

  if (charts.years) {
    draw("chart-years", {
      type: "line",
      data: {
        labels: charts.years.labels,
        datasets: [
          {
            label: labels.total,
            data: charts.years.data,
            borderColor: "#dc3545",
            backgroundColor: "rgba(220, 53, 69, 0.15)",
            fill: true,
            tension: 0.2,
          },
        ],
      },
      options: {
        scales: { y: moneyAxis(false) },
        plugins: { tooltip: moneyTooltip("y"), legend: { display: false } },
      },
    });
  }

  // --- The map -----------------------------------------------------------------------------------
  var mapElement = document.getElementById("dashboard-map");
  if (!mapElement || !window.L) return;

  function escapeText(text) {
    var span = document.createElement("span");
    span.textContent = text;
    return span.innerHTML;
  }

  function popup(marker) {
    var box = document.createElement("div");
    var name = document.createElement("strong");
    name.textContent = marker.name;
    box.appendChild(name);
    if (marker.district) {
      var district = document.createElement("div");
      district.className = "small text-body-secondary";
      district.textContent = marker.district;
      box.appendChild(district);
    }
    var share = document.createElement("div");
    share.textContent =
      labels.completeness +
      ": " +
      (marker.completeness === null ? labels.noMonths : marker.completeness + "%");
    box.appendChild(share);
    var link = document.createElement("a");
    link.href = marker.url;
    link.textContent = labels.open;
    box.appendChild(link);
    return box;
  }

  var map = window.L.map(mapElement, { scrollWheelZoom: false, preferCanvas: true });
  if (mapConfig.tileUrl) {
    window.L.tileLayer(mapConfig.tileUrl, {
      maxZoom: 18,
      attribution: escapeText(mapConfig.attribution || ""),
    }).addTo(map);
  }
  var group = window.L.featureGroup();

  function drawMarkers(list) {
    list.forEach(function (marker) {
      window.L.circleMarker([marker.lat, marker.lon], {
        radius: 8,
        color: "#ffffff",
        weight: 1.5,
        fillColor: marker.colour,
        fillOpacity: 0.9,
      })
        .bindTooltip(marker.name)
        .bindPopup(popup(marker))
        .addTo(group);
    });
    group.addTo(map);
    if (list.length) {
      map.fitBounds(group.getBounds().pad(0.1), { maxZoom: 12 });
    } else {
      map.setView([20.25, 105.97], 9); // Ninh Bình
    }
  }

  // Many communes (a national database): the page names a JSON address instead of embedding.
  var markersUrl = mapElement.getAttribute("data-markers-url");
  if (markersUrl) {
    map.setView([16.0, 106.0], 5);
    fetch(markersUrl, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) {
        if (!response.ok) throw new Error(String(response.status));
        return response.json();
      })
      .then(function (data) {
        drawMarkers(data.markers || []);
      })
      .catch(function () {});
  } else {
    drawMarkers(markers);
  }
})();

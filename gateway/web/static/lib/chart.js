// A live chart of one series: drawn from the server's M4 downsampling (one column per pixel, sent as
// one line: chartLine), so a year costs what an hour does; zooming or panning asks the server again.
import { gql } from "./api.js";
import { el } from "./dom.js";
import { ms, number } from "./i18n.js";

const LINE = "timesMs values";
const CHART = `query ($id: ID!, $from: Timestamp!, $to: Timestamp!, $columns: Int!) {
  chartLine(seriesId: $id, from: $from, to: $to, columns: $columns) { ${LINE} }
}`;
const BATCH = 10; // charts per request: within every plan's alias limit
const MAX_LIVE_POINTS = 20000;
const RELOAD_DELAY_MS = 150;
const CONFIG = { responsive: true, displaylogo: false, modeBarButtonsToRemove: ["select2d", "lasso2d"] };

export class LiveChart {
  constructor(container, series, clock) {
    this.series = series;
    this.clock = clock;
    this.value = el("span", { class: "value" });
    this.plot = el("div", { class: "plot" });
    const title = `${series.name}${series.unit ? ` (${series.unit})` : ""}`;
    this.box = el("section", { class: "chart", "data-series": series.name, "aria-label": title },
      el("h3", {}, el("span", {}, title), this.value), this.plot);
    container.append(this.box);
    this.showValue(null);
  }

  showValue(value) { this.value.textContent = number(value, this.series.decimals); }

  columns() { return Math.max(100, Math.min(2000, Math.round(this.plot.clientWidth || 600))); }

  // Draws [from, to); `follow`: the live view, whose axis grows with each new value.
  async show(from, to, follow) {
    const token = (this.token = {});
    const data = await gql(CHART, { id: this.series.id, from: new Date(from).toISOString(), to: new Date(to).toISOString(), columns: this.columns() });
    if (token === this.token) { await this.draw(data.chartLine, from, to, follow); } // else a newer range was asked for meanwhile
  }

  // `line`: the server's M4 columns as one line (chartLine), times in epoch milliseconds.
  async draw(line, from, to, follow) {
    this.follow = follow;
    const points = line.timesMs.map((time, i) => [time, line.values[i]]);
    const trace = {
      x: points.map((p) => this.clock.toWall(p[0])), y: points.map((p) => p[1]), mode: "lines",
      line: { shape: this.series.kind === "state" ? "hv" : "linear", width: 1.5, color: "#0b6bcb" },
      hoverinfo: "x+y",
    };
    // The live view grows with the data; a zoomed view, or one without data, shows exactly its range.
    const xaxis = follow && points.length
      ? { type: "date", autorange: true }
      : { type: "date", range: [this.clock.toWall(from), this.clock.toWall(to)] };
    const layout = { margin: { l: 48, r: 10, t: 8, b: 30 }, xaxis, yaxis: { autorange: true }, dragmode: "zoom" };
    if (!this.drawn) {
      await Plotly.newPlot(this.plot, [trace], layout, CONFIG);
      this.plot.on("plotly_relayout", (event) => this.relayout(event));
      this.drawn = true;
    } else {
      await Plotly.react(this.plot, [trace], layout, CONFIG);
    }
    if (follow && points.length && !this.box.dataset.updates) { this.showValue(points.at(-1)[1]); } // the newest drawn
    this.box.dataset.points = String(points.length); // what the tests and the benchmark wait for
    this.box.dataset.range = `${new Date(from).toISOString()}/${new Date(to).toISOString()}`;
  }

  // A zoom or pan asks for the new range; a double-click (autorange) goes back to the live view.
  relayout(event) {
    const from = event["xaxis.range[0]"] ?? event["xaxis.range"]?.[0];
    const to = event["xaxis.range[1]"] ?? event["xaxis.range"]?.[1];
    clearTimeout(this.pending);
    if (event["xaxis.autorange"]) {
      this.pending = setTimeout(() => this.onReset?.(), RELOAD_DELAY_MS);
    } else if (from !== undefined && to !== undefined) {
      this.pending = setTimeout(() => this.show(this.clock.fromWall(from), this.clock.fromWall(to), false), RELOAD_DELAY_MS);
    }
  }

  push(point) {
    this.showValue(point.value);
    this.box.dataset.updates = String(Number(this.box.dataset.updates || 0) + 1);
    if (this.follow && this.drawn) {
      Plotly.extendTraces(this.plot, { x: [[this.clock.toWall(ms(point.timestamp))]], y: [[point.value]] }, [0], MAX_LIVE_POINTS);
    }
  }
}

// Several charts' [from, to) in few requests (aliases, BATCH a request): a browser opens only six
// connections to a host, so one request per chart would queue.
export async function showAll(charts, from, to, follow) {
  const range = { from: new Date(from).toISOString(), to: new Date(to).toISOString(), columns: charts[0]?.columns() ?? 600 };
  const batches = [];
  for (let i = 0; i < charts.length; i += BATCH) { batches.push(charts.slice(i, i + BATCH)); }
  await Promise.all(batches.map(async (batch) => {
    const ids = Object.fromEntries(batch.map((chart, i) => [`s${i}`, chart.series.id]));
    const query = `query ($from: Timestamp!, $to: Timestamp!, $columns: Int!, ${batch.map((_, i) => `$s${i}: ID!`).join(", ")}) {
      ${batch.map((_, i) => `c${i}: chartLine(seriesId: $s${i}, from: $from, to: $to, columns: $columns) { ${LINE} }`).join("\n")}
    }`;
    const tokens = batch.map((chart) => (chart.token = {}));
    const data = await gql(query, { ...range, ...ids });
    await Promise.all(batch.map((chart, i) => (tokens[i] === chart.token ? chart.draw(data[`c${i}`], from, to, follow) : null)));
  }));
}

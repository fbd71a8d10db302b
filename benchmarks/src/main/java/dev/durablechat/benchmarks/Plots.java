package dev.durablechat.benchmarks;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.awt.BasicStroke;
import java.awt.Color;
import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.text.DecimalFormat;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import org.jfree.chart.ChartFactory;
import org.jfree.chart.ChartUtils;
import org.jfree.chart.JFreeChart;
import org.jfree.chart.axis.LogAxis;
import org.jfree.chart.plot.PlotOrientation;
import org.jfree.chart.plot.XYPlot;
import org.jfree.chart.renderer.xy.XYLineAndShapeRenderer;
import org.jfree.data.xy.XYSeries;
import org.jfree.data.xy.XYSeriesCollection;

/**
 * Draws the README's plots (PNG) from the JMH JSON output and the wire-size JSON, and prints the
 * results as a Markdown table (score ± error per benchmark and parameters, and each result's ratio
 * to the baseline of its group).
 *
 * <p>Run: {@code java -cp benchmarks/target/benchmarks.jar dev.durablechat.benchmarks.Plots
 * benchmarks/results/jmh.json benchmarks/results/wire-size.json benchmarks/plots}
 */
public final class Plots {
  private static final ObjectMapper MAPPER = new ObjectMapper();

  private Plots() {}

  /**
   * Writes the plots and prints the table.
   *
   * @param args {@code <jmh json> <wire-size json> <output folder>}, or {@code persist-bytes
   *     <output folder>} for the bytes-per-turn plot alone
   */
  public static void main(String[] args) throws IOException {
    if (args.length == 2 && args[0].equals("persist-bytes")) {
      // Only the bytes-per-turn plot: it needs no JMH results (a 1,000-turn chat, measured here).
      System.setProperty("java.awt.headless", "true");
      Files.createDirectories(Path.of(args[1]));
      persistBytes(Path.of(args[1]).resolve("persist-bytes.png"));
      return;
    }
    if (args.length != 3) {
      throw new IllegalArgumentException(
          "usage: Plots <jmh json> <wire-size json> <output folder>, got ["
              + args.length
              + "] args");
    }
    System.setProperty("java.awt.headless", "true");
    JsonNode jmh = MAPPER.readTree(new File(args[0]));
    JsonNode wire = MAPPER.readTree(new File(args[1]));
    Path out = Path.of(args[2]);
    Files.createDirectories(out);
    wireSize(wire, out.resolve("wire-size.png"));
    perTurnCurves(
        jmh, "PersistBenchmark", "time to persist one turn", "µs per turn", out, "persist-time");
    perTurnCurves(jmh, "RebuildBenchmark", "history rebuild", "µs per rebuild", out, "rebuild");
    persistBytes(out.resolve("persist-bytes.png"));
    System.out.print(table(jmh));
  }

  private static void wireSize(JsonNode wire, Path png) throws IOException {
    var ours = new XYSeries("ours: in/append body (one message)");
    var full = new XYSeries("old wire: full-history body");
    for (JsonNode t : wire.get("turns")) {
      ours.add(t.get("turn").asInt(), t.get("ours").asDouble());
      full.add(t.get("turn").asInt(), t.get("fullHistory").asDouble());
    }
    var cap = new XYSeries("512 KiB append cap");
    cap.add(1, 512 * 1024);
    cap.add(wire.get("turns").size(), 512 * 1024);
    save(
        chart(
            "append body per turn, 50-turn tool-heavy chat",
            "turn",
            "bytes",
            false,
            ours,
            full,
            cap),
        png);
  }

  /**
   * Bytes written per turn against the turn, over one 1,000-turn chat through a real engine: our
   * records, our records plus the segmented snapshot's objects (per turn, and amortized over the
   * turns so far), Spring AI's {@code saveAll}, and our records plus the seed's full snapshot.
   */
  private static void persistBytes(Path png) throws IOException {
    PersistBenchmark.Written w = PersistBenchmark.writtenPerTurn(1000);
    var records = new XYSeries("ours: records (in + out chunks + turn-complete)");
    var perTurn = new XYSeries("ours: records + segmented snapshot, that turn");
    var amortized = new XYSeries("ours: records + segmented snapshot, amortized");
    var spring = new XYSeries("Spring AI saveAll (rewrites the conversation)");
    var seed = new XYSeries("before: records + full snapshot (H1 rewrite)");
    long sum = 0;
    for (int i = 0; i < w.records().length; i++) {
      int turn = i + 1;
      sum += w.records()[i] + w.snapshot()[i];
      records.add(turn, w.records()[i]);
      perTurn.add(turn, w.records()[i] + w.snapshot()[i]);
      amortized.add(turn, (double) sum / turn);
      spring.add(turn, w.full()[i]);
      seed.add(turn, w.records()[i] + w.full()[i]);
    }
    JFreeChart chart =
        chart(
            "bytes written per turn, 1,000-turn tool-heavy chat",
            "turn",
            "bytes",
            true,
            records,
            perTurn,
            amortized,
            spring,
            seed);
    // A thousand points per curve: lines only.
    chart.getXYPlot().setRenderer(new XYLineAndShapeRenderer(true, false));
    save(chart, png);
  }

  /** One curve per (method, other params) over the {@code turns} param, if the class ran. */
  private static void perTurnCurves(
      JsonNode jmh, String benchClass, String title, String unit, Path out, String name)
      throws IOException {
    Map<String, XYSeries> curves = new LinkedHashMap<>();
    for (JsonNode b : jmh) {
      String bench = b.get("benchmark").asText();
      if (!bench.contains("." + benchClass + ".")
          || b.path("params").path("turns").isMissingNode()) {
        continue;
      }
      String method = bench.substring(bench.lastIndexOf('.') + 1);
      var label = new StringBuilder(method);
      b.get("params")
          .properties()
          .forEach(
              p -> {
                if (!p.getKey().equals("turns")) {
                  label.append(' ').append(p.getKey()).append('=').append(p.getValue().asText());
                }
              });
      curves
          .computeIfAbsent(label.toString(), XYSeries::new)
          .add(
              b.get("params").get("turns").asDouble(),
              b.get("primaryMetric").get("score").asDouble());
    }
    if (curves.isEmpty()) {
      return;
    }
    save(
        chart(title, "turns of history", unit, true, curves.values().toArray(new XYSeries[0])),
        out.resolve(name + ".png"));
  }

  private static JFreeChart chart(
      String title, String x, String y, boolean logX, XYSeries... series) {
    var data = new XYSeriesCollection();
    for (XYSeries s : series) {
      data.addSeries(s);
    }
    JFreeChart chart =
        ChartFactory.createXYLineChart(
            title, x, y, data, PlotOrientation.VERTICAL, true, false, false);
    XYPlot plot = chart.getXYPlot();
    plot.setBackgroundPaint(Color.WHITE);
    plot.setDomainGridlinePaint(Color.LIGHT_GRAY);
    plot.setRangeGridlinePaint(Color.LIGHT_GRAY);
    if (logX) {
      plot.setDomainAxis(logAxis(x));
    }
    plot.setRangeAxis(logAxis(y));
    var renderer = new XYLineAndShapeRenderer(true, true);
    for (int i = 0; i < series.length; i++) {
      renderer.setSeriesStroke(i, new BasicStroke(2f));
    }
    plot.setRenderer(renderer);
    return chart;
  }

  private static LogAxis logAxis(String label) {
    var axis = new LogAxis(label);
    // Plain numbers (1,000) rather than powers of ten with fractional exponents.
    axis.setNumberFormatOverride(new DecimalFormat("#,##0.#"));
    return axis;
  }

  private static void save(JFreeChart chart, Path png) throws IOException {
    ChartUtils.saveChartAsPNG(png.toFile(), chart, 900, 540);
  }

  /** A Markdown table of every result, grouped by class and parameters. */
  static String table(JsonNode jmh) {
    var groups = new TreeMap<String, List<JsonNode>>();
    for (JsonNode b : jmh) {
      String bench = b.get("benchmark").asText();
      String cls = bench.substring(0, bench.lastIndexOf('.'));
      cls = cls.substring(cls.lastIndexOf('.') + 1);
      groups.computeIfAbsent(cls + " " + params(b), k -> new ArrayList<>()).add(b);
    }
    var s = new StringBuilder("| benchmark | params | score ± error | unit | ratio to first |\n");
    s.append("|---|---|---|---|---|\n");
    for (var e : groups.entrySet()) {
      double base = e.getValue().get(0).get("primaryMetric").get("score").asDouble();
      for (JsonNode b : e.getValue()) {
        String bench = b.get("benchmark").asText();
        JsonNode m = b.get("primaryMetric");
        s.append(
            String.format(
                Locale.ROOT,
                "| %s | %s | %s ± %s | %s | %.2f |%n",
                bench.substring(bench.lastIndexOf('.', bench.lastIndexOf('.') - 1) + 1),
                params(b),
                num(m.get("score").asDouble()),
                num(m.get("scoreError").asDouble()),
                m.get("scoreUnit").asText(),
                m.get("score").asDouble() / base));
      }
    }
    return s.toString();
  }

  private static String params(JsonNode b) {
    var s = new StringBuilder();
    b.path("params")
        .properties()
        .forEach(
            p ->
                s.append(s.length() == 0 ? "" : " ")
                    .append(p.getKey())
                    .append('=')
                    .append(p.getValue().asText()));
    return s.length() == 0 ? "-" : s.toString();
  }

  private static String num(double v) {
    if (Double.isNaN(v)) {
      return "n/a";
    }
    if (Math.abs(v) >= 100) {
      return String.format(Locale.ROOT, "%,.0f", v);
    }
    return String.format(Locale.ROOT, "%.3g", v);
  }
}

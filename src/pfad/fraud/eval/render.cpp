// The renderings of render.h: a Markdown table, JSON and PR curves as SVG.
// All three group the runs the same way (Group), so they agree on the order of
// kinds, models and slices.
#include "pfad/fraud/eval/render.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <cmath>
#include <string_view>

namespace pfad::fraud {
namespace {

struct Stat {
  double mean = 0;
  double sd = 0;  // sample standard deviation (n - 1); 0 for a single run
};

Stat Summarize(const std::vector<double>& values) {
  Stat stat;
  if (values.empty()) return stat;
  for (double v : values) stat.mean += v;
  stat.mean /= static_cast<double>(values.size());
  if (values.size() < 2) return stat;
  double squares = 0;
  for (double v : values) squares += (v - stat.mean) * (v - stat.mean);
  stat.sd = std::sqrt(squares / static_cast<double>(values.size() - 1));
  return stat;
}

struct SliceSummary {
  std::string name;
  bool fraud = true;
  size_t entities = 0;  // in the first run
  Stat pr_auc;
  Stat recall_at_1fpr;
};

// Every run of one model on one kind, in evaluation order (one per seed).
struct ModelSummary {
  std::string model;
  events::EntityKind kind = events::EntityKind::kUser;
  std::vector<const ModelFigures*> runs;
  Stat pr_auc;
  Stat roc_auc;
  Stat recall_at_1fpr;
  std::vector<SliceSummary> slices;  // those of the first run, by name over the others
};

struct KindGroup {
  events::EntityKind kind = events::EntityKind::kUser;
  std::vector<ModelSummary> models;  // in order of first appearance
};

template <typename F>
Stat Over(const std::vector<const ModelFigures*>& runs, F field) {
  std::vector<double> values;
  for (const ModelFigures* run : runs) values.push_back(field(*run));
  return Summarize(values);
}

const SliceFigures* FindSlice(const ModelFigures& run, const std::string& name) {
  for (const SliceFigures& slice : run.slices) {
    if (slice.name == name) return &slice;
  }
  return nullptr;
}

// Users first, then sessions; kinds without runs are left out.
std::vector<KindGroup> Group(const Evaluation& evaluation) {
  std::vector<KindGroup> groups;
  for (events::EntityKind kind : {events::EntityKind::kUser, events::EntityKind::kSession}) {
    KindGroup group{kind, {}};
    for (const ModelFigures& run : evaluation.runs) {
      if (run.kind != kind) continue;
      auto it = std::find_if(group.models.begin(), group.models.end(),
                             [&](const ModelSummary& m) { return m.model == run.model; });
      if (it == group.models.end()) {
        group.models.push_back({run.model, kind, {}, {}, {}, {}, {}});
        it = group.models.end() - 1;
      }
      it->runs.push_back(&run);
    }
    for (ModelSummary& m : group.models) {
      m.pr_auc = Over(m.runs, [](const ModelFigures& r) { return r.pr_auc; });
      m.roc_auc = Over(m.runs, [](const ModelFigures& r) { return r.roc_auc; });
      m.recall_at_1fpr = Over(m.runs, [](const ModelFigures& r) { return r.recall_at_1fpr; });
      for (const SliceFigures& first : m.runs.front()->slices) {
        std::vector<double> pr;
        std::vector<double> recall;
        for (const ModelFigures* run : m.runs) {
          if (const SliceFigures* slice = FindSlice(*run, first.name)) {
            pr.push_back(slice->pr_auc);
            recall.push_back(slice->recall_at_1fpr);
          }
        }
        m.slices.push_back({first.name, first.fraud, first.entities, Summarize(pr), Summarize(recall)});
      }
    }
    if (!group.models.empty()) groups.push_back(std::move(group));
  }
  return groups;
}

std::string Cell(const Stat& stat) { return fmt::format("{:.3f} ± {:.3f}", stat.mean, stat.sd); }

std::string Plural(events::EntityKind kind) {
  return kind == events::EntityKind::kUser ? "Users" : "Sessions";
}

nlohmann::json ToJson(const Stat& stat) { return {{"mean", stat.mean}, {"sd", stat.sd}}; }

std::string XmlEscape(std::string_view text) {
  std::string out;
  for (char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

}  // namespace

std::string RenderMarkdown(const Evaluation& evaluation) {
  std::string out = "# Fraud evaluation\n\n";
  if (!evaluation.dataset.empty()) out += fmt::format("Dataset: `{}`\n", evaluation.dataset);
  const std::vector<KindGroup> groups = Group(evaluation);
  if (groups.empty()) out += "\nNo runs.\n";
  for (const KindGroup& group : groups) {
    const ModelSummary& first = group.models.front();
    const ModelFigures& run = *first.runs.front();
    out += fmt::format("\n## {}\n\n{} test entities, {} positives; mean ± sd over {} seed(s).\n\n",
                       Plural(group.kind), run.test_entities, run.test_positives, first.runs.size());
    std::string header = "| model | PR-AUC | ROC-AUC | recall @ 1 % FPR |";
    std::string rule = "|---|---|---|---|";
    for (const SliceSummary& slice : first.slices) {
      header += fmt::format(" {} {} |", slice.name, slice.fraud ? "PR-AUC" : "flagged");
      rule += "---|";
    }
    out += header + "\n" + rule + "\n";
    for (const ModelSummary& m : group.models) {
      std::string line = fmt::format("| {} | {} | {} | {} |", m.model, Cell(m.pr_auc), Cell(m.roc_auc),
                                     Cell(m.recall_at_1fpr));
      for (const SliceSummary& header_slice : first.slices) {
        const auto it = std::find_if(m.slices.begin(), m.slices.end(),
                                     [&](const SliceSummary& s) { return s.name == header_slice.name; });
        if (it == m.slices.end() || it->entities == 0) {
          line += " – |";  // the kind has no entity of this slice
        } else {
          line += fmt::format(" {} |", Cell(it->fraud ? it->pr_auc : it->recall_at_1fpr));
        }
      }
      out += line + "\n";
    }
  }
  if (!evaluation.notes.empty()) {
    out += "\n";
    for (const std::string& note : evaluation.notes) out += fmt::format("- {}\n", note);
  }
  return out;
}

std::string RenderJson(const Evaluation& evaluation) {
  nlohmann::json runs = nlohmann::json::array();
  for (const ModelFigures& run : evaluation.runs) {
    nlohmann::json slices = nlohmann::json::array();
    for (const SliceFigures& slice : run.slices) {
      slices.push_back({{"name", slice.name},
                        {"fraud", slice.fraud},
                        {"entities", slice.entities},
                        {"pr_auc", slice.pr_auc},
                        {"recall_at_1fpr", slice.recall_at_1fpr}});
    }
    runs.push_back({{"model", run.model},
                    {"kind", events::ToString(run.kind)},
                    {"seed", run.seed},
                    {"test_entities", run.test_entities},
                    {"test_positives", run.test_positives},
                    {"pr_auc", run.pr_auc},
                    {"roc_auc", run.roc_auc},
                    {"recall_at_1fpr", run.recall_at_1fpr},
                    {"slices", std::move(slices)}});
  }
  nlohmann::json summary = nlohmann::json::array();
  for (const KindGroup& group : Group(evaluation)) {
    for (const ModelSummary& m : group.models) {
      nlohmann::json slices = nlohmann::json::array();
      for (const SliceSummary& slice : m.slices) {
        slices.push_back({{"name", slice.name},
                          {"fraud", slice.fraud},
                          {"entities", slice.entities},
                          {"pr_auc", ToJson(slice.pr_auc)},
                          {"recall_at_1fpr", ToJson(slice.recall_at_1fpr)}});
      }
      summary.push_back({{"model", m.model},
                         {"kind", events::ToString(m.kind)},
                         {"seeds", m.runs.size()},
                         {"pr_auc", ToJson(m.pr_auc)},
                         {"roc_auc", ToJson(m.roc_auc)},
                         {"recall_at_1fpr", ToJson(m.recall_at_1fpr)},
                         {"slices", std::move(slices)}});
    }
  }
  const nlohmann::json doc = {{"dataset", evaluation.dataset},
                              {"notes", evaluation.notes},
                              {"sd", "sample (n - 1)"},
                              {"runs", std::move(runs)},
                              {"summary", std::move(summary)}};
  return doc.dump(2) + "\n";
}

std::string RenderPrCurvesSvg(const Evaluation& evaluation) {
  // Panel layout (px): plot square at (kLeft, kTop), legend to its right.
  constexpr double kPanelWidth = 500;
  constexpr double kPanelHeight = 370;
  constexpr double kLeft = 60;
  constexpr double kTop = 40;
  constexpr double kSize = 280;
  constexpr std::string_view kColors[] = {"#1f77b4", "#d62728", "#2ca02c", "#ff7f0e",
                                          "#9467bd", "#8c564b", "#e377c2", "#17becf"};
  const std::vector<KindGroup> groups = Group(evaluation);
  const size_t panels = std::max<size_t>(groups.size(), 1);
  std::string out = fmt::format(
      "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{0}\" height=\"{1}\" viewBox=\"0 0 {0} {1}\" "
      "font-family=\"sans-serif\" font-size=\"12\">\n",
      kPanelWidth * static_cast<double>(panels), kPanelHeight);
  if (groups.empty()) out += "<text x=\"20\" y=\"30\">No runs.</text>\n";
  for (size_t p = 0; p < groups.size(); ++p) {
    const KindGroup& group = groups[p];
    out += fmt::format("<g transform=\"translate({},0)\">\n", kPanelWidth * static_cast<double>(p));
    out += fmt::format(
        "<text x=\"{}\" y=\"24\" text-anchor=\"middle\" font-size=\"14\">{} — precision-recall</text>\n",
        kLeft + kSize / 2, Plural(group.kind));
    out += fmt::format("<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"none\" stroke=\"#000\"/>\n",
                       kLeft, kTop, kSize, kSize);
    for (int t = 0; t <= 5; ++t) {
      const double v = t / 5.0;
      const double x = std::round((kLeft + v * kSize) * 10) / 10;  // no 95.99999999999999 in the file
      const double y = std::round((kTop + (1 - v) * kSize) * 10) / 10;
      out += fmt::format(
          "<line x1=\"{0}\" y1=\"{1}\" x2=\"{0}\" y2=\"{2}\" stroke=\"#000\"/>"
          "<text x=\"{0}\" y=\"{3}\" text-anchor=\"middle\">{4:.1f}</text>\n",
          x, kTop + kSize, kTop + kSize + 5, kTop + kSize + 18, v);
      out += fmt::format(
          "<line x1=\"{0}\" y1=\"{1}\" x2=\"{2}\" y2=\"{1}\" stroke=\"#000\"/>"
          "<text x=\"{3}\" y=\"{4}\" text-anchor=\"end\">{5:.1f}</text>\n",
          kLeft - 5, y, kLeft, kLeft - 8, y + 4, v);
    }
    out += fmt::format("<text x=\"{}\" y=\"{}\" text-anchor=\"middle\">recall</text>\n", kLeft + kSize / 2,
                       kTop + kSize + 34);
    out += fmt::format(
        "<text x=\"16\" y=\"{0}\" text-anchor=\"middle\" transform=\"rotate(-90 16 {0})\">"
        "precision</text>\n",
        kTop + kSize / 2);
    for (size_t m = 0; m < group.models.size(); ++m) {
      const ModelSummary& model = group.models[m];
      const PrCurve& curve = model.runs.front()->curve;
      const std::string_view color = kColors[m % std::size(kColors)];
      std::string points;
      for (size_t i = 0; i < curve.recall.size() && i < curve.precision.size(); ++i) {
        points += fmt::format("{}{:.1f},{:.1f}", i == 0 ? "" : " ", kLeft + curve.recall[i] * kSize,
                              kTop + (1 - curve.precision[i]) * kSize);
      }
      out += fmt::format(
          "<polyline fill=\"none\" stroke=\"{}\" stroke-width=\"1.5\" points=\"{}\"><title>{}</title>"
          "</polyline>\n",
          color, points, XmlEscape(model.model));
      const double y = kTop + 10 + 18 * static_cast<double>(m);
      out += fmt::format(
          "<line x1=\"{0}\" y1=\"{1}\" x2=\"{2}\" y2=\"{1}\" stroke=\"{3}\" stroke-width=\"3\"/>"
          "<text x=\"{4}\" y=\"{5}\">{6}</text>\n",
          kLeft + kSize + 15, y, kLeft + kSize + 35, color, kLeft + kSize + 40, y + 4,
          XmlEscape(model.model));
    }
    out += "</g>\n";
  }
  out += "</svg>\n";
  return out;
}

}  // namespace pfad::fraud

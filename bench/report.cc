#include "report.h"

#include <algorithm>
#include <cstdio>
#include <sstream>

namespace bench {

Percentiles Summary(std::vector<double> values) {
  Percentiles p;
  p.n = values.size();
  if (values.empty()) return p;
  std::sort(values.begin(), values.end());
  const auto at = [&](double q) {
    return values[static_cast<std::size_t>(q * static_cast<double>(values.size() - 1))];
  };
  double sum = 0;
  for (const double v : values) sum += v;
  p.p50 = at(0.50);
  p.p95 = at(0.95);
  p.p99 = at(0.99);
  p.max = values.back();
  p.mean = sum / static_cast<double>(values.size());
  return p;
}

nlohmann::json ToJson(const Percentiles& p) {
  const auto num = [](double v) { return std::isnan(v) ? nlohmann::json() : nlohmann::json(v); };
  return {{"n", p.n},          {"p50", num(p.p50)}, {"p95", num(p.p95)},
          {"p99", num(p.p99)}, {"max", num(p.max)}, {"mean", num(p.mean)}};
}

std::string Format(double value) {
  if (std::isnan(value)) return "–";
  char buf[64];
  const double a = std::fabs(value);
  if (a >= 1000 || a == std::floor(a))
    std::snprintf(buf, sizeof buf, "%.0f", value);
  else if (a >= 100)
    std::snprintf(buf, sizeof buf, "%.1f", value);
  else if (a >= 1)
    std::snprintf(buf, sizeof buf, "%.2f", value);
  else
    std::snprintf(buf, sizeof buf, "%.3f", value);
  return buf;
}

namespace {

std::string Cell(std::string text) {
  std::replace(text.begin(), text.end(), '|', '/');
  return text;
}

std::string WithUnit(double value, const std::string& unit) {
  if (std::isnan(value)) return "–";
  return Format(value) + (unit.empty() ? "" : " " + unit);
}

}  // namespace

std::string Report::Markdown(const nlohmann::json& context) const {
  std::ostringstream md;
  md << "# code-interpreter benchmarks (" << context.value("date", "") << ")\n\n";
  md << "- command: `" << context.value("command", "") << "`\n";
  md << "- machine: " << context.value("machine", "") << "\n";
  md << "- source revision: " << context.value("revision", "") << "\n";
  md << "- load average before / after: " << context.value("loadavg_before", "") << " / "
     << context.value("loadavg_after", "") << "\n";
  md << "- duration: " << Format(context.value("duration_s", 0.0)) << " s\n\n";
  md << "Each row: the measured number, its baseline or ceiling from the same run, value / "
        "baseline, the target and whether it was met.\n";
  for (const Section& s : sections_) {
    md << "\n## " << s.title << "\n\n" << s.setup << "\n\n";
    md << "| what | value | baseline / ceiling | ratio | target | met | limited by |\n";
    md << "| --- | --- | --- | --- | --- | --- | --- |\n";
    for (const Row& r : s.rows) {
      const std::string baseline = std::isnan(r.baseline)
                                       ? (r.baseline_what.empty() ? "–" : r.baseline_what)
                                       : r.baseline_what + ": " + WithUnit(r.baseline, r.unit);
      const std::string ratio =
          std::isnan(r.baseline) || std::isnan(r.value) ? "–" : Format(r.Ratio());
      const std::string met = !r.met ? "" : (*r.met ? "yes" : "**no**");
      md << "| " << Cell(r.what) << " | " << WithUnit(r.value, r.unit) << " | " << Cell(baseline)
         << " | " << ratio << " | " << Cell(r.target) << " | " << met << " | " << Cell(r.note)
         << " |\n";
    }
    if (!s.notes.empty()) md << "\n";
    for (const std::string& note : s.notes) md << "- " << note << "\n";
  }
  return md.str();
}

nlohmann::json Report::Json(const nlohmann::json& context) const {
  nlohmann::json out = context;
  out["sections"] = nlohmann::json::array();
  const auto num = [](double v) { return std::isnan(v) ? nlohmann::json() : nlohmann::json(v); };
  for (const Section& s : sections_) {
    nlohmann::json rows = nlohmann::json::array();
    for (const Row& r : s.rows) {
      rows.push_back({{"what", r.what},
                      {"value", num(r.value)},
                      {"unit", r.unit},
                      {"baseline_what", r.baseline_what},
                      {"baseline", num(r.baseline)},
                      {"ratio", num(r.Ratio())},
                      {"target", r.target},
                      {"met", r.met ? nlohmann::json(*r.met) : nlohmann::json()},
                      {"limited_by", r.note}});
    }
    out["sections"].push_back({{"id", s.id},
                               {"title", s.title},
                               {"setup", s.setup},
                               {"rows", rows},
                               {"notes", s.notes},
                               {"data", s.data}});
  }
  return out;
}

}  // namespace bench

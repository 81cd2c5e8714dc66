// The results of a run_all invocation: one Section per scenario, each a table whose rows put a
// measured number next to its baseline or ceiling, and the writer of the markdown and JSON
// files under bench/results/. Single-threaded.
#pragma once

#include <cmath>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

namespace bench {

struct Row {
  std::string what;
  double value = NAN;
  std::string unit;
  std::string baseline_what;  // what the baseline or ceiling is
  double baseline = NAN;      // ratio = value / baseline
  std::string target;         // e.g. "<= 1.10", "< 150 MB"; empty when there is none
  std::optional<bool> met;
  std::string note;  // what limits the number

  double Ratio() const { return value / baseline; }
};

struct Section {
  std::string id;     // "latency", "throughput", ...
  std::string title;  // heading
  std::string setup;  // how it was measured, one paragraph
  std::vector<Row> rows;
  std::vector<std::string> notes;                  // extra findings, one line each
  nlohmann::json data = nlohmann::json::object();  // raw numbers for the JSON file
};

// Percentiles used across scenarios (nearest rank).
struct Percentiles {
  double p50 = NAN, p95 = NAN, p99 = NAN, max = NAN, mean = NAN;
  std::size_t n = 0;
};
Percentiles Summary(std::vector<double> values);
nlohmann::json ToJson(const Percentiles& p);

class Report {
 public:
  void Add(Section section) { sections_.push_back(std::move(section)); }
  const std::vector<Section>& sections() const { return sections_; }

  // Markdown: a header with the machine and the command, then one table per section.
  std::string Markdown(const nlohmann::json& context) const;
  nlohmann::json Json(const nlohmann::json& context) const;

 private:
  std::vector<Section> sections_;
};

// "4.85", "1234", "0.012": a number with sensible precision for a table.
std::string Format(double value);

}  // namespace bench

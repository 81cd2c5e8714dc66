// Command-line options shared by the subcommands, with their defaults.
#pragma once

#include <cstddef>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace cli {

struct CommonOptions {
  std::filesystem::path state_dir;
  std::optional<std::filesystem::path> token_file;
  std::string log_level = "info";
  std::string log_format = "text";  // or "json": one object per line (cli/json_log.h)
};

struct ServeOptions {
  CommonOptions common;
  std::string listen = "127.0.0.1:3874";
  // "N" for the default environment, "NAME=N" for another; the default keeps 2.
  std::vector<std::string> min_idle;
  std::vector<std::string> environments;  // served; the first is the default (serve_environments.h)
  std::filesystem::path env_store;        // empty: DefaultEnvStore()
  std::size_t max_workers = 16;
  double idle_timeout = 3600;
  double exec_timeout = 30;
  double max_exec_timeout = 300;
  double interrupt_grace = 3;
  double start_timeout = 60;
  double health_interval = 30;
  std::size_t queue_limit = 16;
  std::size_t max_body = 2u << 20;
  std::size_t max_header = 16u << 10;
  double header_timeout = 10;
  double read_timeout = 30;
  double keep_alive_timeout = 60;
  std::size_t max_connections = 1024;
  std::size_t max_connections_per_ip = 64;  // 0: no per-address limit
  std::size_t max_output_text = 1u << 20;
  std::size_t max_output_images = 16u << 20;
  std::size_t max_kernel_message_mb = 64;
  double kernel_rate_mb = 64;
  std::size_t hub_threads = 0;  // 0: one per core, at most 8
  std::filesystem::path runtime_dir;
  std::string sandbox = "namespaces";
  bool accept_unenforced_limits = false;  // namespaces without cgroups (rootless, no delegation)
  std::string python = "/usr/bin/python3";
  std::size_t memory_mb = 1024;
  std::size_t pids = 256;
  double cpus = 1.0;
  std::size_t tmp_mb = 256;
  std::size_t workspace_mb = 1024;
  std::size_t workspace_inodes = 100000;
  // The most a session may ask for (POST /sessions `limits`); 0: the default above.
  std::size_t max_memory_mb = 0;
  std::size_t max_pids = 0;
  double max_cpus = 0;
  std::size_t max_workspace_mb = 0;
  std::size_t max_file_mb = 100;
  std::vector<std::string> cors_origins = {"*"};  // origins whose pages may call the API
  std::vector<std::string> url_allow;             // hosts and networks URL import/export may reach
  std::string url_ca_file;                        // PEM bundle trusted instead of the system's CAs
  double url_timeout = 300;
  std::size_t url_concurrency = 8;
  std::string docker_socket;  // empty: from DOCKER_HOST, else /var/run/docker.sock
  std::string docker_image = "code-interpreter-worker:latest";
};

// `code-interpreter env build|list|remove`.
struct EnvOptions {
  std::string action;  // "build", "list", "remove"
  std::string name;
  std::filesystem::path recipes = "environments";  // the repository's recipes
  std::filesystem::path store;                     // DefaultEnvStore()
  std::string suite = "bookworm";
  std::string mirror = "http://deb.debian.org/debian";
  bool force = false;
  bool docker = false;
};

// /var/lib/code-interpreter for root, else $XDG_STATE_HOME or ~/.local/state + /code-interpreter.
std::filesystem::path DefaultStateDir();
// /run/code-interpreter for root, else $XDG_RUNTIME_DIR/code-interpreter or
// /tmp/code-interpreter-<uid>.
std::filesystem::path DefaultRuntimeDir();

// DefaultStateDir() + /environments.
std::filesystem::path DefaultEnvStore();

int Serve(const ServeOptions& options);
int Env(const EnvOptions& options);
int PrintToken(const CommonOptions& options);

}  // namespace cli

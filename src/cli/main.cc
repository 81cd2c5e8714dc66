// code-interpreter: serve | token | env | version.
#include <CLI/CLI.hpp>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string_view>

#include "cli/options.h"
#include "sandbox/init_spec.h"
#include "sandbox/uid_slots.h"

#ifndef CI_VERSION
#define CI_VERSION "0.0.0"
#endif

namespace {

void AddCommon(CLI::App& app, cli::CommonOptions& options) {
  app.add_option("--state-dir", options.state_dir, "Directory for auth_token.txt (created 0700)")
      ->envname("CODE_INTERPRETER_STATE_DIR")
      ->capture_default_str();
  app.add_option("--token-file", options.token_file, "Read the API token from this file instead")
      ->envname("CODE_INTERPRETER_TOKEN_FILE");
  app.add_option("--log-level", options.log_level, "trace, debug, info, warn, error")
      ->envname("CODE_INTERPRETER_LOG_LEVEL")
      ->capture_default_str();
  app.add_option("--log-format", options.log_format,
                 "text, or json: one object per line (time, level, event, user, worker, ...)")
      ->envname("CODE_INTERPRETER_LOG_FORMAT")
      ->check(CLI::IsMember({"text", "json"}))
      ->capture_default_str();
}

// --env-store, for serve (where it finds environments) and the env commands.
void AddEnvStore(CLI::App& app, std::filesystem::path& store) {
  app.add_option("--env-store", store,
                 "Where built environments are kept (default: "
                 "/var/lib/code-interpreter/environments as root)")
      ->envname("CODE_INTERPRETER_ENV_STORE");
}

}  // namespace

int main(int argc, char** argv) {
  // Internal: the sandbox's pid 1, exec'd by the namespaces launcher (see sandbox/init.cc).
  if (argc == 3 && std::string_view(argv[1]) == "__sandbox-init")
    return sandbox::RunSandboxInit(std::atoi(argv[2]));
  CLI::App app{"code-interpreter: stateful, sandboxed Python sessions behind one HTTP API"};
  app.require_subcommand(1);

  cli::ServeOptions serve;
  serve.common.state_dir = cli::DefaultStateDir();
  serve.runtime_dir = cli::DefaultRuntimeDir();
  CLI::App* serve_cmd = app.add_subcommand("serve", "Run the gateway and its worker pool");
  AddCommon(*serve_cmd, serve.common);
  const auto env = [](const char* name) { return std::string("CODE_INTERPRETER_") + name; };
  serve_cmd->add_option("--listen", serve.listen, "HOST:PORT to listen on")
      ->envname(env("LISTEN"))
      ->capture_default_str();
  serve_cmd
      ->add_option("--min-idle", serve.min_idle,
                   "Warm idle workers to keep: N for the default environment, NAME=N for "
                   "another (repeatable, or comma-separated; default 2 for the default one)")
      ->envname(env("MIN_IDLE"))
      ->delimiter(',');
  serve_cmd
      ->add_option("--environment", serve.environments,
                   "Environments to serve, the first being the default (built with `env build`; "
                   "\"host\": the host's own Python). Default: python if built, else host")
      ->envname(env("ENVIRONMENT"))
      ->delimiter(',');
  AddEnvStore(*serve_cmd, serve.env_store);
  serve_cmd->add_option("--max-workers", serve.max_workers, "Most workers in total")
      ->envname(env("MAX_WORKERS"))
      ->capture_default_str()
      ->check(CLI::Range(1u, sandbox::UidSlots::kSlots));
  serve_cmd
      ->add_option("--idle-timeout", serve.idle_timeout,
                   "Seconds before an unused session is reaped")
      ->envname(env("IDLE_TIMEOUT"))
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  serve_cmd->add_option("--exec-timeout", serve.exec_timeout, "Default execution timeout, seconds")
      ->envname(env("EXEC_TIMEOUT"))
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  serve_cmd
      ->add_option("--max-exec-timeout", serve.max_exec_timeout,
                   "Largest per-request timeout, seconds")
      ->envname(env("MAX_EXEC_TIMEOUT"))
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  serve_cmd
      ->add_option("--interrupt-grace", serve.interrupt_grace,
                   "Seconds an interrupted kernel has to become idle before it is replaced")
      ->envname(env("INTERRUPT_GRACE"))
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  serve_cmd
      ->add_option("--start-timeout", serve.start_timeout, "Seconds a kernel has to become ready")
      ->envname(env("START_TIMEOUT"))
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  serve_cmd
      ->add_option("--health-interval", serve.health_interval,
                   "Seconds between heartbeats of idle kernels")
      ->envname(env("HEALTH_INTERVAL"))
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  serve_cmd->add_option("--queue-limit", serve.queue_limit, "Executions a user may have waiting")
      ->envname(env("QUEUE_LIMIT"))
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  serve_cmd->add_option("--max-body", serve.max_body, "Largest request body, bytes")
      ->envname(env("MAX_BODY"))
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  serve_cmd->add_option("--max-header", serve.max_header, "Largest request head, bytes")
      ->envname(env("MAX_HEADER"))
      ->capture_default_str()
      ->check(CLI::Range(std::size_t{1024}, std::size_t{1} << 20));
  serve_cmd
      ->add_option("--header-timeout", serve.header_timeout,
                   "Seconds a client has to send a request's head (at most --read-timeout)")
      ->envname(env("HEADER_TIMEOUT"))
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  serve_cmd
      ->add_option("--read-timeout", serve.read_timeout,
                   "Seconds a client has to send a whole request")
      ->envname(env("READ_TIMEOUT"))
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  serve_cmd
      ->add_option("--keep-alive-timeout", serve.keep_alive_timeout,
                   "Seconds an idle keep-alive connection waits for its next request")
      ->envname(env("KEEP_ALIVE_TIMEOUT"))
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  serve_cmd
      ->add_option("--max-connections", serve.max_connections,
                   "Open client connections in total (lowered to fit the descriptor limit)")
      ->envname(env("MAX_CONNECTIONS"))
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  serve_cmd
      ->add_option("--max-connections-per-ip", serve.max_connections_per_ip,
                   "Open connections per client address (IPv6: per /64); 0: no limit")
      ->envname(env("MAX_CONNECTIONS_PER_IP"))
      ->capture_default_str();
  serve_cmd
      ->add_option("--max-output-text", serve.max_output_text,
                   "Text output cap per execution, bytes")
      ->envname(env("MAX_OUTPUT_TEXT"))
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  serve_cmd
      ->add_option("--max-output-images", serve.max_output_images,
                   "Image output cap per execution, bytes")
      ->envname(env("MAX_OUTPUT_IMAGES"))
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  serve_cmd
      ->add_option("--max-kernel-message-mb", serve.max_kernel_message_mb,
                   "Largest message a kernel may send (all frames together), MiB; larger ones "
                   "are skipped and the execution says truncated")
      ->envname(env("MAX_KERNEL_MESSAGE_MB"))
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  serve_cmd
      ->add_option("--kernel-rate-mb", serve.kernel_rate_mb,
                   "MiB per second the gateway reads from one kernel on average (bursts of one "
                   "message); a kernel sending faster is held back")
      ->envname(env("KERNEL_RATE_MB"))
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  serve_cmd
      ->add_option("--hub-threads", serve.hub_threads,
                   "Threads serving the kernels' connections, each owning a share of the "
                   "kernels; 0: one per core, at most 8")
      ->envname(env("HUB_THREADS"))
      ->capture_default_str()
      ->check(CLI::Range(0, 64));
  serve_cmd
      ->add_option("--runtime-dir", serve.runtime_dir,
                   "Per-worker directories (sockets, connection files)")
      ->envname(env("RUNTIME_DIR"))
      ->capture_default_str();
  serve_cmd
      ->add_option("--sandbox", serve.sandbox,
                   "Sandbox backend: namespaces (default, the real sandbox), docker (containers "
                   "through the Docker Engine API) or none (development only: no isolation)")
      ->envname(env("SANDBOX"))
      ->capture_default_str()
      ->check(CLI::IsMember({"namespaces", "docker", "none"}));
  serve_cmd
      ->add_flag("--accept-unenforced-limits", serve.accept_unenforced_limits,
                 "Run the namespaces sandbox even where this host cannot enforce its memory, CPU "
                 "and process limits (rootless without cgroup delegation, or no cgroups)")
      ->envname(env("ACCEPT_UNENFORCED_LIMITS"));
  serve_cmd->add_option("--memory-mb", serve.memory_mb, "Memory limit per worker, MiB")
      ->envname(env("MEMORY_MB"))
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  serve_cmd->add_option("--pids", serve.pids, "Process/thread limit per worker")
      ->envname(env("PIDS"))
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  serve_cmd->add_option("--cpus", serve.cpus, "CPU quota per worker, in cores")
      ->envname(env("CPUS"))
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  serve_cmd
      ->add_option("--max-memory-mb", serve.max_memory_mb,
                   "Most memory a session may ask for, MiB (default: --memory-mb)")
      ->envname(env("MAX_MEMORY_MB"));
  serve_cmd
      ->add_option("--max-pids", serve.max_pids,
                   "Most processes/threads a session may ask for (default: --pids)")
      ->envname(env("MAX_PIDS"));
  serve_cmd
      ->add_option("--max-cpus", serve.max_cpus,
                   "Most CPU a session may ask for, cores (default: --cpus)")
      ->envname(env("MAX_CPUS"));
  serve_cmd
      ->add_option("--max-workspace-mb", serve.max_workspace_mb,
                   "Largest workspace a session may ask for, MiB (default: --workspace-mb)")
      ->envname(env("MAX_WORKSPACE_MB"));
  serve_cmd->add_option("--tmp-mb", serve.tmp_mb, "Size of each worker's /tmp and of its home, MiB")
      ->envname(env("TMP_MB"))
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  serve_cmd
      ->add_option("--workspace-mb", serve.workspace_mb,
                   "Size of each session's workspace (/sandbox), MiB (a tmpfs: memory)")
      ->envname(env("WORKSPACE_MB"))
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  serve_cmd
      ->add_option("--workspace-inodes", serve.workspace_inodes,
                   "Files and directories each session's workspace can hold")
      ->envname(env("WORKSPACE_INODES"))
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  serve_cmd
      ->add_option("--max-file-mb", serve.max_file_mb, "Largest file one upload can write, MiB")
      ->envname(env("MAX_FILE_MB"))
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  serve_cmd
      ->add_option("--cors-origins", serve.cors_origins,
                   "Origins whose pages may call the API from a browser, comma-separated "
                   "(\"*\": any, \"null\": pages opened from file://, \"\": no CORS at all)")
      ->envname(env("CORS_ORIGINS"))
      ->delimiter(',')
      ->capture_default_str();
  serve_cmd
      ->add_option("--url-allow", serve.url_allow,
                   "Host name, address or network (CIDR) that URL import and export may reach "
                   "although it is not public (repeatable, or comma-separated)")
      ->envname(env("URL_ALLOW"))
      ->delimiter(',');
  serve_cmd
      ->add_option("--url-ca-file", serve.url_ca_file,
                   "PEM bundle trusted for HTTPS imports and exports instead of the system's CAs")
      ->envname(env("URL_CA_FILE"));
  serve_cmd
      ->add_option("--url-timeout", serve.url_timeout,
                   "Seconds one URL import or export may take in all")
      ->envname(env("URL_TIMEOUT"))
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  serve_cmd
      ->add_option("--url-concurrency", serve.url_concurrency,
                   "URL imports and exports running at once, for all users together")
      ->envname(env("URL_CONCURRENCY"))
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  serve_cmd->add_option("--python", serve.python, "Python interpreter with ipykernel")
      ->envname(env("PYTHON"))
      ->capture_default_str();
  serve_cmd
      ->add_option("--docker-socket", serve.docker_socket,
                   "Docker Engine socket (docker sandbox; default: DOCKER_HOST=unix://..., else "
                   "/var/run/docker.sock)")
      ->envname(env("DOCKER_SOCKET"));
  serve_cmd->add_option("--docker-image", serve.docker_image, "Worker image (docker sandbox)")
      ->envname(env("DOCKER_IMAGE"))
      ->capture_default_str();

  cli::CommonOptions token;
  token.state_dir = cli::DefaultStateDir();
  CLI::App* token_cmd =
      app.add_subcommand("token", "Print the API token (generating it on first use)");
  AddCommon(*token_cmd, token);

  cli::EnvOptions env_options;
  CLI::App* env_cmd = app.add_subcommand(
      "env", "Build, list and remove environments (the root filesystems kernels run on)");
  env_cmd->require_subcommand(1);
  const auto add_env_paths = [&](CLI::App* cmd) {
    cmd->add_option("--recipes", env_options.recipes, "Directory of recipes (environments/<name>/)")
        ->envname(env("RECIPES"))
        ->capture_default_str();
    AddEnvStore(*cmd, env_options.store);
    cmd->add_option("--suite", env_options.suite, "Debian suite")->capture_default_str();
    cmd->add_option("--mirror", env_options.mirror, "Debian mirror")
        ->envname("MIRROR")
        ->capture_default_str();
  };
  CLI::App* env_build = env_cmd->add_subcommand(
      "build",
      "Build an environment from its recipe (as root; skipped while the recipe is unchanged)");
  env_build->add_option("name", env_options.name, "Recipe name, e.g. python or minimal")
      ->required();
  env_build->add_flag("--force", env_options.force, "Rebuild even if up to date");
  env_build->add_flag("--docker", env_options.docker,
                      "Also import it as a docker image (for --sandbox=docker)");
  add_env_paths(env_build);
  CLI::App* env_list = env_cmd->add_subcommand("list", "List built environments and recipes");
  add_env_paths(env_list);
  CLI::App* env_remove = env_cmd->add_subcommand("remove", "Remove a built environment");
  env_remove->add_option("name", env_options.name, "Environment name")->required();
  add_env_paths(env_remove);

  app.add_subcommand("version", "Print the version");

  CLI11_PARSE(app, argc, argv);
  if (serve_cmd->parsed()) return cli::Serve(serve);
  if (token_cmd->parsed()) return cli::PrintToken(token);
  if (env_cmd->parsed()) {
    env_options.action = env_build->parsed() ? "build" : env_remove->parsed() ? "remove" : "list";
    return cli::Env(env_options);
  }
  std::printf("code-interpreter %s\n", CI_VERSION);
  return 0;
}

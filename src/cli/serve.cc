// `code-interpreter serve`: wires config -> launcher, hub, pool, HTTP server, and runs the
// io thread until SIGINT/SIGTERM, then shuts everything down.
#include <fcntl.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>
#include <sys/file.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/thread_pool.hpp>
#include <cstdlib>
#include <thread>

#include "cli/json_log.h"
#include "cli/options.h"
#include "cli/serve_environments.h"
#include "common/unique_fd.h"
#include "gateway/auth.h"
#include "gateway/execution_registry.h"
#include "gateway/http_server.h"
#include "gateway/mcp_sessions.h"
#include "gateway/url_transfers.h"
#include "jupyter/hub_shards.h"
#include "jupyter/kernel_hub.h"
#include "pool/pool.h"
#include "sandbox/docker_launcher.h"
#include "sandbox/namespaces_launcher.h"
#include "sandbox/process_launcher.h"

namespace cli {
namespace {

namespace asio = boost::asio;
using std::chrono::milliseconds;

milliseconds Ms(double seconds) { return milliseconds(static_cast<long long>(seconds * 1000.0)); }

void SetUpLogging(const CommonOptions& o) {
  if (o.log_format == "json") {
    spdlog::set_default_logger(spdlog::stderr_logger_mt("code-interpreter"));  // no colours
    spdlog::set_formatter(std::make_unique<JsonLogFormatter>());
  } else {
    spdlog::set_default_logger(spdlog::stderr_color_mt("code-interpreter"));
    spdlog::set_pattern("%Y-%m-%dT%H:%M:%S.%e %L %v");
  }
  spdlog::set_level(spdlog::level::from_str(o.log_level));
}

// The runtime dir holds sockets: it must be ours, a real directory, and private.
common::Result<void> PrepareRuntimeDir(const std::filesystem::path& dir) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  struct stat st {};
  if (::lstat(dir.c_str(), &st) != 0) return common::ErrnoFail("lstat(" + dir.string() + ")");
  if (!S_ISDIR(st.st_mode)) return common::Fail(dir.string() + " is not a directory");
  if (st.st_uid != ::geteuid()) return common::Fail(dir.string() + " belongs to another user");
  if (::chmod(dir.c_str(), 0700) != 0) return common::ErrnoFail("chmod(" + dir.string() + ")");
  return {};
}

// Start-up sweeps the runtime dir, so two servers must never share one: hold a lock on it
// for the life of the process.
common::Result<common::UniqueFd> LockRuntimeDir(const std::filesystem::path& dir) {
  const auto path = dir / "lock";
  common::UniqueFd fd(::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600));
  if (!fd.Valid()) return common::ErrnoFail("open(" + path.string() + ")");
  if (::flock(fd.Get(), LOCK_EX | LOCK_NB) != 0) {
    if (errno == EWOULDBLOCK)
      return common::Fail("another code-interpreter is using the runtime dir " + dir.string());
    return common::ErrnoFail("flock(" + path.string() + ")");
  }
  return fd;
}

common::Result<std::pair<std::string, unsigned short>> ParseListen(const std::string& listen) {
  const auto colon = listen.rfind(':');
  if (colon == std::string::npos) return common::Fail("--listen must be HOST:PORT");
  std::string host = listen.substr(0, colon);
  if (host.size() > 2 && host.front() == '[' && host.back() == ']')
    host = host.substr(1, host.size() - 2);
  const std::string port = listen.substr(colon + 1);
  char* end = nullptr;
  const long value = std::strtol(port.c_str(), &end, 10);
  if (port.empty() || *end != '\0' || value < 0 || value > 65535)
    return common::Fail("invalid port in --listen");
  return std::pair{host, static_cast<unsigned short>(value)};
}

// Which limits this host leaves unenforced, said at start; refused unless the operator
// accepted them (--accept-unenforced-limits).
common::Result<void> AcceptLimits(const sandbox::NamespacesHost& host, bool accepted) {
  spdlog::info("namespaces sandbox: {}, {}",
               host.privileged ? "as root (per-worker host uids)"
                               : "rootless (kernels map to this user's uid)",
               host.cgroups ? "cgroup limits" : "no cgroups (" + host.no_cgroups + ")");
  const std::vector<std::string> missing = host.Unenforced();
  if (missing.empty()) return {};
  std::string list;
  for (const std::string& limit : missing) list += (list.empty() ? "" : ", ") + limit;
  if (!accepted) {
    return common::Fail("these limits cannot be enforced on this host: " + list +
                        ". Pass --accept-unenforced-limits to run without them (one kernel can "
                        "then use all of the host's memory and CPU)");
  }
  spdlog::warn("running with limits that are NOT enforced: {}", list);
  return {};
}

// URL import and export: the request forgery policy with the operator's exceptions, the
// trust store, the limits.
common::Result<std::shared_ptr<gateway::UrlTransfers>> MakeUrlTransfers(const ServeOptions& o,
                                                                        asio::io_context& io) {
  auto allowlist = fetch::UrlAllowlist::Parse(o.url_allow);
  if (!allowlist) return std::unexpected(allowlist.error());
  fetch::Config config;
  config.allowlist = std::move(*allowlist);
  config.ca_file = o.url_ca_file;
  auto fetcher = fetch::Fetcher::Create(std::move(config));
  if (!fetcher) return std::unexpected(fetcher.error());
  gateway::UrlTransferOptions options;
  options.concurrency = o.url_concurrency;
  options.limits.max_bytes = static_cast<std::uint64_t>(o.max_file_mb) << 20;
  options.limits.total_timeout = Ms(o.url_timeout);
  options.limits.connect_timeout = std::min(options.limits.connect_timeout, Ms(o.url_timeout));
  return std::make_shared<gateway::UrlTransfers>(io, std::move(*fetcher), options);
}

// The most a session may ask for: each --max-* flag, or its default where the flag is not given.
pool::SessionLimits SessionCaps(const ServeOptions& o) {
  return {.memory_mb = std::max(o.max_memory_mb, o.memory_mb),
          .cpus = std::max(o.max_cpus, o.cpus),
          .pids = std::max(o.max_pids, o.pids),
          .workspace_mb = std::max(o.max_workspace_mb, o.workspace_mb),
          .timeout = Ms(o.max_exec_timeout),
          .max_timeout = Ms(o.max_exec_timeout)};
}

common::Result<std::unique_ptr<sandbox::Launcher>> MakeLauncher(
    const ServeOptions& o, const std::vector<pool::EnvironmentConfig>& served) {
  if (o.sandbox == "none") return std::make_unique<sandbox::ProcessLauncher>();
  sandbox::Limits limits;
  limits.memory_bytes = static_cast<std::uint64_t>(o.memory_mb) << 20;
  limits.data_bytes = sandbox::DataLimitFor(limits.memory_bytes);
  // The hard rlimits at the caps: a session allowed more has its soft ones raised.
  const pool::SessionLimits caps = SessionCaps(o);
  limits.data_max_bytes = sandbox::DataLimitFor(caps.memory_mb << 20);
  limits.pids = o.pids;
  limits.pids_max = caps.pids;
  limits.cpus = o.cpus;
  limits.tmp_bytes = static_cast<std::uint64_t>(o.tmp_mb) << 20;
  limits.home_bytes = limits.tmp_bytes;
  sandbox::WorkspaceLimits workspace;
  workspace.bytes = static_cast<std::uint64_t>(o.workspace_mb) << 20;
  workspace.inodes = o.workspace_inodes;
  const std::string instance =
      sandbox::NamespacesLauncher::ScopeFor(std::filesystem::absolute(o.runtime_dir).string());
  if (o.sandbox == "namespaces") {
    auto host = sandbox::NamespacesLauncher::CheckHost();
    if (!host) {
      return common::Fail("cannot isolate kernels on this host: " + host.error().message +
                          " (refusing to run unconfined; --sandbox=none is for development only)");
    }
    if (auto accepted = AcceptLimits(*host, o.accept_unenforced_limits); !accepted)
      return std::unexpected(accepted.error());
    return std::make_unique<sandbox::NamespacesLauncher>(limits, instance, *host, std::string(),
                                                         workspace);
  }
  if (o.sandbox == "docker") {
    sandbox::DockerOptions docker;
    if (o.docker_socket.empty()) {
      auto socket = sandbox::docker::SocketFromDockerHost(std::getenv("DOCKER_HOST"));
      if (!socket) return std::unexpected(socket.error());
      docker.socket = *socket;
    } else {
      docker.socket = o.docker_socket;
    }
    docker.image = o.docker_image;
    docker.instance = instance;
    docker.limits = limits;
    docker.workspace_limits = workspace;
    auto launcher = std::make_unique<sandbox::DockerLauncher>(std::move(docker));
    // An engine that is down or lacks the image is reported, not fatal: requests get a 503
    // that says why, and the next worker start tries again.
    std::vector<sandbox::Environment> environments;
    for (const auto& c : served) environments.push_back(c.environment);
    if (auto checked = launcher->Check(environments); !checked) {
      spdlog::error("{}", checked.error().message);
    } else if (auto swept = launcher->SweepStale(); !swept) {
      spdlog::error("{}", swept.error().message);
    }
    return launcher;
  }
  return common::Fail("unknown sandbox '" + o.sandbox + "'");
}

// The most client connections the descriptor limit leaves room for, after raising the soft
// limit (towards the hard one) as far as `wanted` connections need. Reserved: the gateway's
// own files and sockets, and per worker its kernel's sockets, pidfd and pipes.
std::size_t FitConnectionsToFdLimit(std::size_t wanted, std::size_t max_workers) {
  const rlim_t reserved = 64 + 16 * static_cast<rlim_t>(max_workers);
  rlimit limit{};
  if (::getrlimit(RLIMIT_NOFILE, &limit) != 0) return wanted;
  const rlim_t needed = static_cast<rlim_t>(wanted) + reserved;
  if (limit.rlim_cur < needed && limit.rlim_cur < limit.rlim_max) {
    limit.rlim_cur = std::min(needed, limit.rlim_max);
    if (::setrlimit(RLIMIT_NOFILE, &limit) != 0) ::getrlimit(RLIMIT_NOFILE, &limit);
  }
  if (limit.rlim_cur >= needed) return wanted;
  const std::size_t fits =
      limit.rlim_cur > reserved + 1 ? static_cast<std::size_t>(limit.rlim_cur - reserved) : 1;
  spdlog::warn("--max-connections {} lowered to {} to fit the open-file limit of {}", wanted, fits,
               static_cast<unsigned long long>(limit.rlim_cur));
  return fits;
}

// CODE_INTERPRETER_TOKEN, else --token-file, else <state-dir>/auth_token.txt.
gateway::TokenSource TokenSourceFor(const CommonOptions& options) {
  gateway::TokenSource source;
  if (const char* env = std::getenv("CODE_INTERPRETER_TOKEN"); env != nullptr && *env != '\0')
    source.from_env = env;
  source.token_file = options.token_file;
  source.state_dir = options.state_dir;
  return source;
}

}  // namespace

std::filesystem::path DefaultStateDir() {
  if (::geteuid() == 0) return "/var/lib/code-interpreter";
  if (const char* xdg = std::getenv("XDG_STATE_HOME"); xdg != nullptr && *xdg == '/') {
    return std::filesystem::path(xdg) / "code-interpreter";
  }
  const char* home = std::getenv("HOME");
  return std::filesystem::path(home != nullptr ? home : "/tmp") / ".local/state/code-interpreter";
}

std::filesystem::path DefaultRuntimeDir() {
  if (::geteuid() == 0) return "/run/code-interpreter";
  if (const char* xdg = std::getenv("XDG_RUNTIME_DIR"); xdg != nullptr && *xdg == '/') {
    return std::filesystem::path(xdg) / "code-interpreter";
  }
  return "/tmp/code-interpreter-" + std::to_string(::geteuid());
}

int PrintToken(const CommonOptions& options) {
  auto token = gateway::LoadOrCreateToken(TokenSourceFor(options));
  if (!token) {
    std::fprintf(stderr, "code-interpreter: %s\n", token.error().message.c_str());
    return 1;
  }
  std::printf("%s\n", token->c_str());
  return 0;
}

int Serve(const ServeOptions& o) {
  SetUpLogging(o.common);
  const auto fail = [](const std::string& message) {
    spdlog::critical("{}", message);
    return 1;
  };
  auto listen = ParseListen(o.listen);
  if (!listen) return fail(listen.error().message);
  if (o.max_exec_timeout < o.exec_timeout)
    return fail("--max-exec-timeout is below --exec-timeout");
  if ((o.max_memory_mb != 0 && o.max_memory_mb < o.memory_mb) ||
      (o.max_pids != 0 && o.max_pids < o.pids) || (o.max_cpus != 0 && o.max_cpus < o.cpus) ||
      (o.max_workspace_mb != 0 && o.max_workspace_mb < o.workspace_mb)) {
    return fail(
        "a --max-* session cap is below its default (--memory-mb, --pids, --cpus, "
        "--workspace-mb)");
  }

  auto token = gateway::LoadOrCreateToken(TokenSourceFor(o.common));
  if (!token) return fail("cannot load the API token: " + token.error().message);
  // Nothing below may hand the token to a kernel: launchers build a clean environment.
  ::unsetenv("CODE_INTERPRETER_TOKEN");

  if (auto ready = PrepareRuntimeDir(o.runtime_dir); !ready) return fail(ready.error().message);
  auto runtime_lock = LockRuntimeDir(o.runtime_dir);
  if (!runtime_lock) return fail(runtime_lock.error().message);
  auto served = ResolveEnvironments(o);
  if (!served) return fail(served.error().message);
  auto launcher = MakeLauncher(o, *served);
  if (!launcher) return fail(launcher.error().message);
  if (const std::string why = (*launcher)->NoWorkspaces(); !why.empty())
    spdlog::warn("sessions get no workspace (/sandbox; the file routes answer 501): {}", why);

  asio::io_context io(1);
  asio::thread_pool blocking(2);
  jupyter::HubOptions hub_options;
  // A message must hold at least one full image and the text beside it.
  hub_options.max_message_bytes = std::max<std::size_t>(
      o.max_kernel_message_mb << 20, o.max_output_images + o.max_output_text + (1u << 20));
  hub_options.bytes_per_second = o.kernel_rate_mb * (1 << 20);
  // A lost interrupt is sent again a few times within the grace.
  hub_options.interrupt_resend =
      std::clamp(Ms(o.interrupt_grace) / 4, milliseconds(50), milliseconds(500));
  const std::size_t hub_threads =
      o.hub_threads != 0 ? o.hub_threads
                         : std::clamp<std::size_t>(std::thread::hardware_concurrency(), 1, 8);
  const auto hubs = jupyter::HubShards::Make(
      hub_threads, hub_options, [&io](std::function<void()> fn) { asio::post(io, std::move(fn)); });
  spdlog::info("kernel connections: {} hub thread{}", hubs->size(), hubs->size() == 1 ? "" : "s");

  pool::PoolConfig pc;
  pc.environments = *served;
  for (auto& c : pc.environments) c.min_idle = std::min(c.min_idle, o.max_workers);
  pc.max_workers = o.max_workers;
  pc.idle_timeout = Ms(o.idle_timeout);
  pc.limits = {.memory_mb = o.memory_mb,
               .cpus = o.cpus,
               .pids = o.pids,
               .workspace_mb = o.workspace_mb,
               .timeout = Ms(o.exec_timeout),
               .max_timeout = Ms(o.max_exec_timeout)};
  pc.limit_caps = SessionCaps(o);
  pc.interrupt_grace = Ms(o.interrupt_grace);
  pc.start_timeout = Ms(o.start_timeout);
  pc.health_interval = Ms(o.health_interval);
  pc.queue_limit = o.queue_limit;
  pc.output_limits.max_text_bytes = o.max_output_text;
  pc.output_limits.max_image_bytes = o.max_output_images;
  // Room for metadata and the per-output charge beside full text and image caps.
  pc.output_limits.max_total_bytes = o.max_output_text + o.max_output_images + (2u << 20);
  pc.runtime_dir = o.runtime_dir;
  pc.python = o.python;
  pool::Pool pool(pc, io, blocking, **launcher, *hubs);

  gateway::ServerConfig sc;
  sc.host = listen->first;
  sc.port = listen->second;
  sc.max_body_bytes = o.max_body;
  sc.max_header_bytes = o.max_header;
  sc.header_timeout = Ms(o.header_timeout);
  sc.read_timeout = Ms(o.read_timeout);
  sc.idle_timeout = Ms(o.keep_alive_timeout);
  sc.limits.max_total = FitConnectionsToFdLimit(o.max_connections, o.max_workers);
  sc.limits.max_per_address = o.max_connections_per_ip;
  sc.router.token = *token;
  sc.router.max_exec_timeout = pc.limit_caps.max_timeout;
  sc.router.max_file_bytes = static_cast<std::uint64_t>(o.max_file_mb) << 20;
  sc.router.cors.origins.clear();  // "--cors-origins ''" turns CORS off
  for (const auto& origin : o.cors_origins)
    if (!origin.empty()) sc.router.cors.origins.push_back(origin);
  auto transfers = MakeUrlTransfers(o, io);
  if (!transfers) return fail(transfers.error().message);
  sc.router.url_transfers = *transfers;
  sc.router.executions = std::make_shared<gateway::ExecutionRegistry>();
  // An MCP session is forgotten when the pool reaps its unused kernel.
  sc.router.mcp = std::make_shared<gateway::McpSessions>(gateway::McpSessionConfig{
      .max_sessions = 256,
      .idle = std::chrono::duration_cast<std::chrono::seconds>(pc.idle_timeout)});
  gateway::HttpServer server(io, sc, pool);
  auto port = server.Start();
  if (!port) return fail(port.error().message);
  std::string served_list;
  for (const auto& c : pc.environments) {
    served_list += (served_list.empty() ? "" : ", ") + c.environment.name + " (min idle " +
                   std::to_string(c.min_idle) + ")";
  }
  spdlog::info("listening on {}:{} (sandbox: {}, environments: {}, max workers {}, state dir {})",
               sc.host, *port, (*launcher)->Name(), served_list, pc.max_workers,
               o.common.state_dir.string());
  pool.Start();

  asio::signal_set signals(io, SIGINT, SIGTERM);
  asio::steady_timer drain(io);
  auto deadline = std::chrono::steady_clock::now();
  std::function<void()> wait_drained = [&] {
    if (server.ConnectionCount() == 0 || std::chrono::steady_clock::now() >= deadline) {
      io.stop();
      return;
    }
    drain.expires_after(milliseconds(20));
    drain.async_wait([&](const boost::system::error_code&) { wait_drained(); });
  };
  signals.async_wait([&](const boost::system::error_code& ec, int signal) {
    if (ec) return;
    spdlog::info("received signal {}, shutting down", signal);
    server.Stop();
    pool.Shutdown();  // answers in-flight requests with 503
    deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    wait_drained();
  });
  io.run();
  blocking.join();  // every kill and directory removal has finished
  // Launches that finished after the loop stopped posted their results: let the pool kill
  // those kernels and remove their directories too.
  io.restart();
  io.poll();
  (*launcher)->Shutdown();
  std::error_code ec;
  std::filesystem::remove_all(o.runtime_dir / "mplconfig", ec);
  std::filesystem::remove(o.runtime_dir / "lock", ec);
  std::filesystem::remove(o.runtime_dir, ec);
  spdlog::info("stopped");
  return 0;
}

}  // namespace cli

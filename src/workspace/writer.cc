#include "workspace/writer.h"

#include <fcntl.h>
#include <openssl/evp.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <utility>

#include "common/crypto.h"

namespace workspace {
namespace {

constexpr int kNameAttempts = 4;  // O_EXCL collisions of 128 random bits: never, in practice
TempStrategy temp_strategy = TempStrategy::kAuto;
// Set once an O_TMPFILE temporary could not be given a name (no CAP_DAC_READ_SEARCH and no
// /proc): from then on uploads use named temporaries from the start.
std::atomic<bool> tmpfile_unlinkable{false};

FsResult<std::string> TemporaryName() {
  auto hex = common::RandomHex(16);
  if (!hex) return FsFail(FsErrc::kIo, "random name: " + hex.error().message);
  return ".ci-upload-" + *hex + ".part";
}

// O_TMPFILE in `dir` (unnamed until linked), or -1 with errno when the file system lacks it.
int OpenUnnamed(int dir) {
  if (temp_strategy == TempStrategy::kNamed || tmpfile_unlinkable.load()) {
    errno = EOPNOTSUPP;
    return -1;
  }
  return openat(dir, ".", O_TMPFILE | O_WRONLY | O_CLOEXEC, 0600);
}

bool LacksTmpfile(int err) { return err == EOPNOTSUPP || err == EISDIR || err == EINVAL; }

}  // namespace

struct AtomicWriter::Hasher {
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx{EVP_MD_CTX_new(), EVP_MD_CTX_free};
};

AtomicWriter::AtomicWriter(common::UniqueFd dir, common::UniqueFd file, std::string name,
                           std::string temp_name, std::string what, const WriteOptions& options)
    : dir_(std::move(dir)),
      file_(std::move(file)),
      name_(std::move(name)),
      temp_name_(std::move(temp_name)),
      what_(std::move(what)),
      options_(options),
      hasher_(std::make_unique<Hasher>()) {}

AtomicWriter::AtomicWriter(AtomicWriter&& other) noexcept
    : dir_(std::move(other.dir_)),
      file_(std::move(other.file_)),
      name_(std::move(other.name_)),
      temp_name_(std::exchange(other.temp_name_, {})),
      what_(std::move(other.what_)),
      options_(other.options_),
      hasher_(std::move(other.hasher_)),
      bytes_(other.bytes_),
      state_(std::exchange(other.state_, State::kAborted)) {}

AtomicWriter& AtomicWriter::operator=(AtomicWriter&& other) noexcept {
  if (this != &other) {
    Abort();
    dir_ = std::move(other.dir_);
    file_ = std::move(other.file_);
    name_ = std::move(other.name_);
    temp_name_ = std::exchange(other.temp_name_, {});
    what_ = std::move(other.what_);
    options_ = other.options_;
    hasher_ = std::move(other.hasher_);
    bytes_ = other.bytes_;
    state_ = std::exchange(other.state_, State::kAborted);
  }
  return *this;
}

AtomicWriter::~AtomicWriter() { Abort(); }

void AtomicWriter::Abort() {
  if (state_ != State::kOpen) return;
  state_ = State::kAborted;
  file_.Reset();
  // unlinkat never follows a link; if the kernel replaced our temporary's name, what goes is
  // its entry at a name it had no business using, inside the workspace.
  if (!temp_name_.empty()) unlinkat(dir_.Get(), temp_name_.c_str(), 0);
  temp_name_.clear();
}

FsResult<void> AtomicWriter::Fail(std::unexpected<FsError> error) {
  Abort();
  return error;
}

FsResult<void> AtomicWriter::Write(std::string_view chunk) {
  if (state_ != State::kOpen) return FsFail(FsErrc::kIo, what_ + ": the upload was aborted");
  if (chunk.size() > options_.max_bytes - bytes_) {
    return Fail(FsFail(FsErrc::kTooLarge, what_ + ": larger than the limit of " +
                                              std::to_string(options_.max_bytes) + " bytes"));
  }
  EVP_DigestUpdate(hasher_->ctx.get(), chunk.data(), chunk.size());
  while (!chunk.empty()) {
    const ssize_t n = write(file_.Get(), chunk.data(), chunk.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Fail(ErrnoFsFail("write", what_, errno));
    chunk.remove_prefix(static_cast<std::size_t>(n));
    bytes_ += static_cast<std::uint64_t>(n);
  }
  return {};
}

// Gives an O_TMPFILE temporary a random name beside the target, so that it can be renamed.
FsResult<void> AtomicWriter::NameTemporary() {
  for (int attempt = 0; attempt < kNameAttempts; ++attempt) {
    auto name = TemporaryName();
    if (!name) return std::unexpected(std::move(name.error()));
    // AT_EMPTY_PATH needs CAP_DAC_READ_SEARCH before Linux 6.10; otherwise through /proc.
    int rc = -1;
    errno = ENOENT;
    if (temp_strategy != TempStrategy::kProcLink) {
      rc = linkat(file_.Get(), "", dir_.Get(), name->c_str(), AT_EMPTY_PATH);
    }
    if (rc != 0 && (errno == ENOENT || errno == EPERM)) {
      const std::string proc = "/proc/self/fd/" + std::to_string(file_.Get());
      rc = linkat(AT_FDCWD, proc.c_str(), dir_.Get(), name->c_str(), AT_SYMLINK_FOLLOW);
    }
    if (rc == 0) {
      temp_name_ = std::move(*name);
      return {};
    }
    if (errno == ENOENT || errno == EPERM) {
      tmpfile_unlinkable.store(true);
      return FsFail(FsErrc::kIo, what_ +
                                     ": cannot name the O_TMPFILE temporary (linkat needs "
                                     "CAP_DAC_READ_SEARCH or /proc); retry the upload");
    }
    if (errno != EEXIST) return ErrnoFsFail("linkat", what_, errno);
  }
  return FsFail(FsErrc::kIo, what_ + ": no free temporary name");
}

FsResult<WriteResult> AtomicWriter::Commit() {
  if (state_ != State::kOpen) return FsFail(FsErrc::kIo, what_ + ": the upload was aborted");
  const auto fail = [this](std::unexpected<FsError> error) -> FsResult<WriteResult> {
    Abort();
    return error;
  };
  if (options_.durable && fsync(file_.Get()) != 0) return fail(ErrnoFsFail("fsync", what_, errno));
  // Mode and owner only now: while being written, the temporary is 0600 and the gateway's.
  const int fd = file_.Get();
  if (options_.owner && fchown(fd, options_.owner->uid, options_.owner->gid) != 0) {
    return fail(ErrnoFsFail("fchown", what_, errno));
  }
  if (fchmod(fd, options_.file_mode) != 0) return fail(ErrnoFsFail("fchmod", what_, errno));
  struct stat ours;
  if (fstat(fd, &ours) != 0) return fail(ErrnoFsFail("fstat", what_, errno));
  if (temp_name_.empty()) {
    if (auto named = NameTemporary(); !named) return fail(std::unexpected(named.error()));
  }
  if (close(file_.Release()) != 0) return fail(ErrnoFsFail("close", what_, errno));

  struct stat now;
  if (fstatat(dir_.Get(), temp_name_.c_str(), &now, AT_SYMLINK_NOFOLLOW) != 0 ||
      now.st_ino != ours.st_ino || now.st_dev != ours.st_dev) {
    return fail(FsFail(FsErrc::kIo, what_ + ": the temporary file was replaced during the upload"));
  }
  if (renameat(dir_.Get(), temp_name_.c_str(), dir_.Get(), name_.c_str()) != 0) {
    return fail(ErrnoFsFail("renameat", what_, errno));
  }
  temp_name_.clear();
  state_ = State::kCommitted;
  if (options_.durable) {
    const int dir = openat(dir_.Get(), ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dir >= 0) {
      fsync(dir);
      close(dir);
    }
  }

  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  EVP_DigestFinal_ex(hasher_->ctx.get(), digest, &length);
  return WriteResult{
      bytes_, common::HexEncode(std::string_view(reinterpret_cast<const char*>(digest), length))};
}

FsResult<AtomicWriter> BeginWrite(int root_fd, const Components& path,
                                  const WriteOptions& options) {
  const std::string what = MessagePath(path);
  if (path.empty()) return FsFail(FsErrc::kBadPath, what + " is the workspace root, not a file");
  const std::span<const std::string> parents(path.data(), path.size() - 1);
  auto dir = MakeParents(root_fd, parents, options.dir_mode, options.owner);
  if (!dir) return std::unexpected(std::move(dir.error()));

  struct stat st;
  if (fstatat(dir->Get(), path.back().c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0 &&
      S_ISDIR(st.st_mode)) {
    return FsFail(FsErrc::kWrongType, what + " is a directory");
  }

  std::string temp_name;
  int fd = OpenUnnamed(dir->Get());
  if (fd < 0 && !LacksTmpfile(errno)) return ErrnoFsFail("open(O_TMPFILE)", what, errno);
  for (int attempt = 0; fd < 0 && attempt < kNameAttempts; ++attempt) {
    auto name = TemporaryName();
    if (!name) return std::unexpected(std::move(name.error()));
    fd = openat(dir->Get(), name->c_str(), O_CREAT | O_EXCL | O_NOFOLLOW | O_WRONLY | O_CLOEXEC,
                0600);
    if (fd >= 0) temp_name = std::move(*name);
    if (fd < 0 && errno != EEXIST) return ErrnoFsFail("openat(O_CREAT)", what, errno);
  }
  if (fd < 0) return FsFail(FsErrc::kIo, what + ": no free temporary name");

  AtomicWriter writer(std::move(*dir), common::UniqueFd(fd), path.back(), std::move(temp_name),
                      what, options);
  if (writer.hasher_->ctx == nullptr ||
      EVP_DigestInit_ex(writer.hasher_->ctx.get(), EVP_sha256(), nullptr) != 1) {
    return FsFail(FsErrc::kIo, what + ": cannot initialize SHA-256");
  }
  return writer;
}

void SetTempStrategyForTesting(TempStrategy strategy) { temp_strategy = strategy; }

}  // namespace workspace

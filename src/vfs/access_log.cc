#include "vfs/access_log.h"

#include <fmt/format.h>

#include <ctime>

namespace strata::vfs {

namespace {

constexpr std::string_view kHeader =
    "# strata accesslog v1: time\tuid\tgid\tpid\top\targs\tresult\tseconds\n";

// A field must hold no tab or newline: anything below 0x20 becomes a '?'.
void AppendField(std::string* out, std::string_view s) {
  for (char c : s) out->push_back(static_cast<unsigned char>(c) < 0x20 ? '?' : c);
}

}  // namespace

AccessLog::AccessLog(Clock* clock, size_t capacity)
    : clock_(clock ? clock : SystemClock::Get()), capacity_(capacity < 16 ? 16 : capacity) {}

std::string AccessLog::FormatLine(int64_t start_wall_nanos, const AccessRecord& r) {
  time_t secs = static_cast<time_t>(start_wall_nanos / 1000000000);
  int64_t micros = (start_wall_nanos % 1000000000) / 1000;
  struct tm tm;
  gmtime_r(&secs, &tm);
  std::string line = fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:06}Z\t{}\t{}\t{}\t",
                                 tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
                                 tm.tm_min, tm.tm_sec, micros, r.uid, r.gid, r.pid);
  AppendField(&line, r.op);
  line.push_back('\t');
  AppendField(&line, r.args);
  line.push_back('\t');
  AppendField(&line, r.result);
  line += fmt::format("\t{:.6f}\n", r.seconds);
  return line;
}

void AccessLog::Append(const AccessRecord& record) {
  if (!active()) return;
  int64_t start = clock_->NowNanos() - static_cast<int64_t>(record.seconds * 1e9);
  std::string line = FormatLine(start, record);
  {
    std::lock_guard<std::mutex> l(mu_);
    if (readers_.empty()) return;  // the last reader left meanwhile: keep nothing
    lines_.push_back(std::move(line));
    while (lines_.size() > capacity_) {
      lines_.pop_front();
      first_++;
    }
  }
  cv_.notify_all();
}

uint64_t AccessLog::OpenReader() {
  std::lock_guard<std::mutex> l(mu_);
  uint64_t id = next_reader_++;
  readers_[id] = Reader{first_ + lines_.size(), false};
  readers_open_.fetch_add(1, std::memory_order_relaxed);
  return id;
}

void AccessLog::CloseReader(uint64_t reader) {
  {
    std::lock_guard<std::mutex> l(mu_);
    if (readers_.erase(reader) == 0) return;
    readers_open_.fetch_sub(1, std::memory_order_relaxed);
    if (readers_.empty()) {
      first_ += lines_.size();
      lines_.clear();
      lines_.shrink_to_fit();
    }
  }
  cv_.notify_all();
}

Status AccessLog::Read(uint64_t reader, size_t max_bytes, std::string* out,
                       const std::function<bool()>& interrupted, std::chrono::milliseconds poll) {
  out->clear();
  if (max_bytes == 0) return Status::OK();
  std::unique_lock<std::mutex> l(mu_);
  for (;;) {
    auto it = readers_.find(reader);
    if (it == readers_.end()) return Status(Code::kBadHandle, "unknown access log reader");
    if (shutdown_) return Status::Unavailable("the access log is closed (unmounting)");
    Reader& r = it->second;
    if (!r.header_sent) {
      r.header_sent = true;
      out->assign(kHeader.substr(0, max_bytes));
      return Status::OK();
    }
    if (r.next < first_) {
      *out = fmt::format("# {} lines dropped\n", first_ - r.next);
      if (out->size() > max_bytes) out->resize(max_bytes);
      r.next = first_;
      return Status::OK();
    }
    uint64_t end = first_ + lines_.size();
    while (r.next < end) {
      const std::string& line = lines_[r.next - first_];
      if (out->size() + line.size() > max_bytes) {
        if (out->empty()) {  // a line longer than the buffer: cut, keep its newline
          out->assign(line.substr(0, max_bytes - 1));
          out->push_back('\n');
          r.next++;
        }
        break;
      }
      *out += line;
      r.next++;
    }
    if (!out->empty()) return Status::OK();
    if (interrupted && interrupted()) return Status(Code::kInterrupted, "interrupted");
    const uint64_t want = r.next;
    clock_->WaitFor(l, cv_, poll, [&] {
      return shutdown_ || first_ + lines_.size() > want || !readers_.count(reader);
    });
  }
}

void AccessLog::Shutdown() {
  {
    std::lock_guard<std::mutex> l(mu_);
    shutdown_ = true;
  }
  cv_.notify_all();
}

size_t AccessLog::buffered() const {
  std::lock_guard<std::mutex> l(mu_);
  return lines_.size();
}

}  // namespace strata::vfs

// DataWriter: the per-file error sequences (writer.h "Write errors": errseq semantics).
// Locking rules: writer_state.h; everything here runs under State::mu_ except LogAll.
#include "chunk/writer_state.h"
#include "common/logging.h"

namespace strata::chunk {

void DataWriter::State::RecordErrorLocked(Ino ino, const Status& st,
                                          std::vector<std::string>* logs) {
  ErrorRecord& rec = errors_[ino];
  rec.stamp = ++error_stamps_;
  rec.error = st;
  rec.seen = false;
  // Nobody is open to hear about it (pages written back after the last close): keep it for
  // the next description rather than lose it.
  if (rec.cursors == 0) OrphanLocked(ino, rec, logs);
}

Status DataWriter::State::PeekErrorLocked(Ino ino, const ErrorCursor* since) const {
  auto it = errors_.find(ino);
  if (it == errors_.end()) return Status::OK();
  uint64_t seen = since ? since->stamp : 0;
  return it->second.stamp > seen ? it->second.error : Status::OK();
}

Status DataWriter::State::CheckErrorLocked(Ino ino, ErrorCursor* cursor) {
  auto it = errors_.find(ino);
  if (it == errors_.end() || it->second.stamp <= cursor->stamp) return Status::OK();
  ErrorRecord& rec = it->second;
  cursor->stamp = rec.stamp;
  rec.seen = true;
  if (rec.orphan) {
    rec.orphan = false;
    orphans_--;
  }
  Status st = rec.error;
  MaybeForgetErrorLocked(ino);
  return st;
}

void DataWriter::State::OrphanLocked(Ino ino, ErrorRecord& rec, std::vector<std::string>* logs) {
  if (rec.orphan) return;  // logged when it became one: one line per file, not per slice
  logs->push_back(fmt::format("write error on inode {} that no open file saw: {}; the file's "
                              "next flush/fsync reports it",
                              ino, rec.error.ToString()));
  rec.orphan = true;
  orphans_++;
  if (orphans_ <= DataWriter::kMaxOrphanErrors) return;
  // Bound the memory: forget the oldest orphan (smallest stamp). Rare, so a scan will do.
  auto oldest = errors_.end();
  for (auto it = errors_.begin(); it != errors_.end(); ++it) {
    if (it->second.orphan && (oldest == errors_.end() || it->second.stamp < oldest->second.stamp)) {
      oldest = it;
    }
  }
  logs->push_back(fmt::format("write error on inode {} dropped unreported (more than {} files "
                              "keep one): {}",
                              oldest->first, DataWriter::kMaxOrphanErrors,
                              oldest->second.error.ToString()));
  oldest->second.orphan = false;
  oldest->second.seen = true;  // given up on: no later description is told
  orphans_--;
  MaybeForgetErrorLocked(oldest->first);
}

void DataWriter::State::MaybeForgetErrorLocked(Ino ino) {
  auto it = errors_.find(ino);
  if (it != errors_.end() && it->second.cursors == 0 && !it->second.orphan) errors_.erase(it);
}

void DataWriter::State::LogAll(const std::vector<std::string>& logs) {
  for (const auto& line : logs) LOG_WARN("{}", line);
}

ErrorCursor DataWriter::State::OpenCursor(Ino ino) {
  std::lock_guard lock(mu_);
  ErrorRecord& rec = errors_[ino];
  rec.cursors++;
  // An orphan is news to the new description: start just before it.
  return ErrorCursor{rec.orphan ? rec.stamp - 1 : rec.stamp};
}

void DataWriter::State::CloseCursor(Ino ino) {
  std::vector<std::string> logs;
  {
    std::lock_guard lock(mu_);
    auto it = errors_.find(ino);
    if (it == errors_.end()) return;
    ErrorRecord& rec = it->second;
    if (rec.cursors > 0) rec.cursors--;
    // The last description is gone and nobody saw the latest error (a read-only description
    // does not report at close; a release cannot report at all).
    if (rec.cursors == 0 && rec.stamp > 0 && !rec.seen && !rec.orphan) {
      OrphanLocked(ino, rec, &logs);
    }
    MaybeForgetErrorLocked(ino);
  }
  LogAll(logs);
}

}  // namespace strata::chunk

#include "csi/mount_table.h"

#include <fstream>
#include <sstream>

namespace strata::csi {
namespace {

// mountinfo escapes space, tab, newline and backslash as \ooo (octal).
std::string Unescape(const std::string& s) {
  std::string out;
  for (size_t i = 0; i < s.size(); i++) {
    if (s[i] == '\\' && i + 3 < s.size() && s[i + 1] >= '0' && s[i + 1] <= '3' && s[i + 2] >= '0' &&
        s[i + 2] <= '7' && s[i + 3] >= '0' && s[i + 3] <= '7') {
      out.push_back(
          static_cast<char>((s[i + 1] - '0') * 64 + (s[i + 2] - '0') * 8 + (s[i + 3] - '0')));
      i += 3;
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

}  // namespace

bool MountEntry::read_only() const {
  std::stringstream ss(options);
  std::string o;
  while (std::getline(ss, o, ',')) {
    if (o == "ro") return true;
  }
  return false;
}

Result<std::vector<MountEntry>> ParseMountInfo(const std::string& text) {
  std::vector<MountEntry> out;
  std::stringstream lines(text);
  std::string line;
  while (std::getline(lines, line)) {
    if (line.empty()) continue;
    std::stringstream ss(line);
    std::vector<std::string> f;
    for (std::string w; ss >> w;) f.push_back(w);
    size_t dash = 0;
    for (size_t i = 6; i < f.size(); i++) {
      if (f[i] == "-") {
        dash = i;
        break;
      }
    }
    if (f.size() < 10 || dash == 0 || dash + 2 >= f.size()) {
      return Status::Corruption("unexpected mountinfo line: " + line);
    }
    MountEntry e;
    try {
      e.id = std::stoi(f[0]);
    } catch (const std::exception&) {
      return Status::Corruption("unexpected mountinfo line: " + line);
    }
    e.dev = f[2];
    e.root = Unescape(f[3]);
    e.mount_point = Unescape(f[4]);
    e.options = f[5];
    e.fstype = f[dash + 1];
    e.source = Unescape(f[dash + 2]);
    out.push_back(std::move(e));
  }
  return out;
}

Result<std::vector<MountEntry>> ReadMountTable() {
  std::ifstream in("/proc/self/mountinfo");
  if (!in) return Status::IOError("cannot read /proc/self/mountinfo");
  std::stringstream ss;
  ss << in.rdbuf();
  return ParseMountInfo(ss.str());
}

const MountEntry* FindMount(const std::vector<MountEntry>& table, const std::string& path) {
  const MountEntry* found = nullptr;
  for (const MountEntry& e : table) {
    if (e.mount_point == path) found = &e;
  }
  return found;
}

}  // namespace strata::csi

// Opening a volume's metadata engine from a META_URL for the CLI subcommands (format, status,
// config): every built-in engine registered, errors as one line for `strata: ...`.
//
// Thread-safety: plain functions.
#pragma once

#include <memory>
#include <string>

#include <CLI/CLI.hpp>

#include "common/status.h"
#include "client/builtins.h"
#include "meta/kv/kv.h"

namespace strata::cli {

// An engine of `registries` for the URL. kInvalidArgument for a malformed URL or an unknown
// engine, kUnavailable when the server cannot be reached (in bounded time; the engine decides).
Result<std::shared_ptr<kv::KvEngine>> OpenMetaEngine(const client::Registries& registries,
                                                     const std::string& url);

// kInvalidArgument when the URL is malformed or names no registered engine; opens nothing.
Status CheckMetaUrl(const client::Registries& registries, const std::string& url);

// True when the URL names an embedded database file (sqlite3://) that does not exist or is
// empty (zero bytes): such a volume is certainly unformatted, and opening the engine would
// write a database into the file.
bool MetaDatabaseMissing(const std::string& url);

// The transform every META_URL argument goes through: `env:NAME` stands for the URL held by
// the environment variable NAME (so that a password in the URL stays out of `ps` and shell
// history: /proc/PID/environ is readable by the process's owner only, its cmdline by all).
// Any other value is taken as is. An unset or empty NAME is an argument error.
const CLI::Validator& MetaUrlFromEnv();

// Prints "strata: <context>: <status message>" to stderr and sets exit code 1.
void Fail(const std::string& context, const Status& s);

}  // namespace strata::cli

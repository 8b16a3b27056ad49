// The one Bodhi model shared by the Bodhi 1 and Bodhi 2 adapters. Each result keeps the
// JSON object it was read from in `raw` (a fedora::record), so fields the model does not
// name (and fields only one server version has) stay reachable. Missing or null fields read
// as empty / 0 / nullopt.
//
// Identifiers (spec §4): an update's `key` is what every operation of this SDK takes back to
// name that update on the server that returned it:
//   Bodhi 1: the title (NVRs joined by commas); `alias` is the update ID once pushed, else "".
//   Bodhi 2: the alias (always set); the title (NVRs joined by spaces) is accepted too.
// The adapters translate a title written in the other server's join style (commas <-> spaces),
// since an NVR never contains either.
#pragma once

#include <fedora/error.hpp>
#include <fedora/record.hpp>

#include <boost/json/object.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace fedora::bodhi {

// Which protocol a server speaks. Chosen by detection (GET api_version) or pinned.
enum class server_version : std::uint8_t { bodhi1 = 1, bodhi2 = 2 };
std::string_view to_string(server_version v) noexcept;  // "Bodhi 1", "Bodhi 2"

struct build
{
    std::string nvr;
    std::string package;      // Bodhi 1: builds[].package.name; Bodhi 2: derived from the NVR
    record raw;
};

struct bug
{
    std::int64_t id = 0;      // Bodhi 1 bz_id, Bodhi 2 bug_id
    std::string title;
    bool security = false;
    bool parent = false;
    record raw;
};

struct comment
{
    std::int64_t id = 0;      // Bodhi 2 only (0 on Bodhi 1)
    std::string author;       // user name (Bodhi 1's " (group)" suffix removed) or anonymous e-mail
    std::string group;        // Bodhi 1 only: the admin group suffix, e.g. "releng"
    bool anonymous = false;
    int karma = 0;
    int karma_critpath = 0;   // Bodhi 2 only
    std::string text;
    std::string timestamp;    // "YYYY-MM-DD HH:MM:SS"
    std::string update_title; // when the server says (Bodhi 1 comments, Bodhi 2 top-level comments)
    record raw;
};

struct release
{
    std::string name;         // "F22"; Bodhi 1 "EL-7" where Bodhi 2 says "EPEL-7"
    std::string long_name;
    std::string id_prefix;
    std::string dist_tag;
    bool locked = false;      // Bodhi 1 only
    std::string version;      // Bodhi 2 only from here on
    std::string branch;
    std::string state;        // disabled, pending, current, archived
    std::string candidate_tag, testing_tag, stable_tag, override_tag;
    std::string pending_testing_tag, pending_stable_tag;
    record raw;
};

struct update
{
    std::string key;          // what to pass back to get/save(edit)/request/comment (see above)
    std::string title;        // as the server spells it
    std::string alias;        // Bodhi 2 alias; Bodhi 1 update ID once pushed, else ""
    std::string submitter;
    std::string type;         // bugfix, security, newpackage, enhancement
    std::string status;       // pending, testing, stable, obsolete (+ unpushed, processing on Bodhi 2)
    std::string request;      // "" = none; testing, stable, obsolete (+ unpush, revoke on Bodhi 2)
    std::string severity;     // Bodhi 2 only
    std::string suggest;      // Bodhi 2 suggest; Bodhi 1: "reboot" when a build's package suggests it
    std::string notes;
    int karma = 0;
    int stable_karma = 0;
    int unstable_karma = 0;
    // Bodhi 2 `autokarma` when sent; Bodhi 1: thresholds not both 0.
    std::optional<bool> autokarma;
    bool critpath = false;
    std::optional<bool> critpath_approved;  // Bodhi 1 only
    bool close_bugs = false;
    bool locked = false;      // Bodhi 2 only
    bool pushed = false;      // Bodhi 2 `pushed`; Bodhi 1: date_pushed is set
    std::string date_submitted, date_modified, date_pushed;
    bodhi::release release;
    std::vector<build> builds;
    std::vector<bug> bugs;
    std::vector<comment> comments;  // Bodhi 2 answers to a comment carry ids only: empty then
    record raw;
};

struct override_record
{
    std::string nvr;
    std::string submitter;
    std::string notes;
    std::string submission_date;
    std::string expiration_date;
    std::string expired_date;  // "" while active
    std::string release;       // Bodhi 1 only (release name)
    bool expired() const noexcept { return !expired_date.empty(); }
    record raw;
};

struct package
{
    std::string name;
    std::string requirements;
    record raw;
};

// A soft warning next to a success (Bodhi 2 `caveats`; Bodhi 1's informational tg_flash).
struct caveat
{
    std::string name;
    std::string description;
};

// One page of a collection, the same model on both servers (Bodhi 1's num_items gives
// total; pages = ceil(total / rows_per_page), 0 when empty).
template <class T>
struct page
{
    std::vector<T> rows;
    int number = 1;            // 1-based
    int pages = 0;
    int rows_per_page = 0;
    std::int64_t total = 0;
};

struct save_result
{
    std::vector<update> updates;   // one per release the builds span
    std::vector<caveat> caveats;
    std::string message;           // Bodhi 1 tg_flash ("" on Bodhi 2)
};

struct request_result
{
    bodhi::update update;
    std::vector<caveat> caveats;
    std::string message;           // Bodhi 1 tg_flash ("" on Bodhi 2)
};

struct comment_result
{
    bodhi::comment comment;               // Bodhi 1: the caller's newest comment on the returned update
    bodhi::update update;              // the update after the comment (karma is the server's)
    std::vector<caveat> caveats;   // e.g. "You may not give karma to your own updates."
    std::string message;
};

struct override_result
{
    std::vector<override_record> overrides;  // one per NVR
    std::vector<caveat> caveats;
    std::string message;
};

struct login_info
{
    std::string username;
    boost::json::object user;      // Bodhi 1: the FAS person of the login answer; Bodhi 2: {}
};

struct none
{
};

} // namespace fedora::bodhi

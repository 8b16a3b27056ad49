// fedora::emulator FAS2: the Fedora Account System 0.14.x (TurboGears 1) as seen by
// python-fedora's AccountSystem and FasProxyClient, over an in-memory directory.
//
// Two parts:
//   fas_directory    people, groups, roles, configs; built by a deterministic generator or
//                    from a JSON fixture; safe to read and change from several threads.
//   fas_application  the HTTP logic (an `application` to mount at "/accounts"): sessions
//                    (`tg-visit`), form/Basic login, the CSRF rule, privacy filtering, and
//                    every endpoint python-fedora 1.1.1 calls. Pure request -> response.
//
// The behaviour follows spec/fas-server.md (FAS2 support/0.14.x). Quirks that are kept on
// purpose because clients must cope with them: every JSON body carries `tg_flash`; an
// unknown parameter is an HTTP 500 (tg.strict_parameters); group/create validation failures
// answer `{"tg_flash": null}`; Bool("0") is true; `/user/list` gives role-less accounts an
// all-null membership; `limit` counts person x role rows; `_` is a LIKE wildcard; non-ASCII
// text is sent as \uXXXX escapes. The auth bypass of FAS < 0.13 (X-Client-Verify /
// X-Client-CN) is NOT emulated, and neither is login by e-mail address.
//
// Fixed accounts (present unless fas_data_params::fixed_accounts is false; generated data
// never reuses these names or ids):
//
//   username      password          id      what it is for
//   admin         admin             100001  `accounts` administrator (admin view level),
//                                           sysadmin, CLA done (cla_done + cla_fpca)
//   jdoe          jdoe-pass         100068  ordinary active user, CLA done, packager user,
//                                           fedorabugs; ssh key, gpg key, ircnick; configs
//                                           bugzilla/login and moin/theme
//   nocla         nocla-pass        100070  active, no CLA (unapproved in packager)
//   privuser      privuser-pass     100071  privacy = true, CLA done
//   zlukasiewicz  zoe-pass          100072  human_name "Zoë Łukasiewicz 🐧" (non-ASCII,
//                                           one non-BMP code point), CLA done
//   sysuser       sysuser-pass      100073  member of `fas-system` (admin view level, but
//                                           not admin for configs or group creation)
//   tpuser        tpuser-pass       100074  member of `thirdparty` (sees ssh keys)
//   modo          modo-pass         100075  member of `accounts-moderators`
//   sysadm        sysadm-pass       100076  approved member of `sysadmin` (may create groups)
//   inactive      inactive-pass     100077  status inactive (cannot log in)
//   disabled      disabled-pass     100078  status admin_disabled (cannot log in)
//   botuser       botuser-pass      100079  status bot (may log in, not in user_data)
//   noroles       noroles-pass      100080  active, no role at all
//
// Fixed groups: cla_done 100002 (cla), accounts 100006, fedorabugs 100148, packager 100300
// (pkgdb), cla_fedora 101441 (cla, deprecated), cla_fpca 155928 (cla), fas-system 100010,
// accounts-moderators 100011, thirdparty 100012, sysadmin 100013, fas-private 100014
// (hidden from /group/list for non-administrators).
//
// Generated accounts (ids from 200000, after the generated groups) all share the password
// fas_data_params::generated_password.
#pragma once

#include <fedora/emulator/server.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <shared_mutex>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace fedora::emulator {

// Timestamps are UTC with microseconds; JSON shows them as Python's str(datetime):
// "YYYY-MM-DD HH:MM:SS[.ffffff]+00:00".
using fas_time = std::chrono::sys_time<std::chrono::microseconds>;

enum class fas_role_type : std::uint8_t { user, sponsor, administrator };
enum class fas_role_status : std::uint8_t { approved, unapproved };
enum class fas_account_status : std::uint8_t {
    active, inactive, expired, admin_disabled, bot,
    spamcheck_awaiting, spamcheck_manual, spamcheck_denied,
};

std::string_view to_string(fas_role_type t) noexcept;
std::string_view to_string(fas_role_status s) noexcept;
std::string_view to_string(fas_account_status s) noexcept;
std::optional<fas_role_type> parse_role_type(std::string_view s) noexcept;
std::optional<fas_role_status> parse_role_status(std::string_view s) noexcept;
std::optional<fas_account_status> parse_account_status(std::string_view s) noexcept;

// "YYYY-MM-DD HH:MM:SS[.ffffff]+00:00" (the microseconds are left out when zero).
std::string format_fas_time(fas_time t);
// Accepts "YYYY-MM-DD[ HH:MM:SS[.f{1,6}]][+00:00|Z]" (also 'T' as separator).
std::optional<fas_time> parse_fas_time(std::string_view s) noexcept;

// One person_roles row.
struct fas_role
{
    std::int64_t group_id = 0;
    fas_role_type role_type = fas_role_type::user;
    fas_role_status role_status = fas_role_status::approved;
    std::optional<std::int64_t> sponsor_id;
    fas_time creation{};
    std::optional<fas_time> approval;         // null until approved
    std::optional<std::string> internal_comments;
};

// One people row (every column FAS2 0.14 sends), plus the person's roles.
struct fas_person
{
    std::int64_t id = 0;
    std::string username;
    std::string human_name;
    std::optional<std::string> gpg_keyid;
    std::optional<std::string> ssh_key;
    std::string password;                     // crypt hash, "$1$salt$..." (MD5-crypt)
    std::optional<fas_time> password_changed;
    std::string email;
    std::optional<std::string> unverified_email;
    std::optional<std::string> comments;
    std::optional<std::string> postal_address;
    std::optional<std::string> telephone;
    std::optional<std::string> facsimile;
    std::optional<std::string> affiliation;
    std::int64_t certificate_serial = 1;
    fas_time creation{};
    std::optional<std::string> ircnick;
    fas_time last_seen{};
    fas_account_status status = fas_account_status::active;
    fas_time status_change{};
    std::string locale = "C";
    std::optional<std::string> timezone = std::string("UTC");
    std::optional<double> latitude;
    std::optional<double> longitude;
    std::optional<std::string> country_code;
    bool privacy = false;
    std::optional<std::string> old_password;
    std::string security_question = "-";
    std::string security_answer = "-";
    std::optional<std::string> passwordtoken;
    std::optional<std::string> emailtoken;
    std::optional<std::string> internal_comments;
    bool alias_enabled = true;
    std::optional<std::string> ipa_sync_status;

    std::vector<fas_role> roles;              // at most one per group
};

// One groups row.
struct fas_group
{
    std::int64_t id = 0;
    std::string name;
    std::string display_name;
    std::optional<std::string> url;
    std::optional<std::string> mailing_list;
    std::optional<std::string> mailing_list_url;
    std::optional<std::string> irc_channel;
    std::optional<std::string> irc_network;
    std::int64_t owner_id = 0;
    std::string group_type = "tracking";      // one of fas_group_types()
    bool needs_sponsor = false;
    bool user_can_remove = true;
    bool invite_only = false;
    std::optional<std::int64_t> prerequisite_id;
    std::string joinmsg;
    std::optional<std::string> apply_rules;
    fas_time creation{};
};

// The 15 group types FAS2 accepts.
std::span<const std::string_view> fas_group_types() noexcept;

// One configs row: (person, application, attribute) -> value (null allowed).
struct fas_config
{
    std::string application;
    std::string attribute;
    std::optional<std::string> value;
};

// Deterministic generator input. Same params -> same directory, byte for byte.
// Cost: about 1 s and 370 MB for 200k people (hashes are shared, see below).
struct fas_data_params
{
    std::uint64_t seed = 1;
    std::size_t people = 200;                 // generated accounts, besides the fixed ones
    std::size_t groups = 40;                  // generated groups, besides the fixed ones
    std::size_t max_roles_per_person = 5;     // generated groups each account joins (0..max)
    unsigned cla_percent = 85;                // accounts with cla_done + cla_fpca approved
    unsigned privacy_percent = 10;
    unsigned non_ascii_percent = 20;          // human names with non-ASCII letters
    unsigned ssh_key_percent = 50;
    unsigned inactive_percent = 3;            // other statuses than active
    // Every generated account has this password. Its MD5-crypt hash is computed for a few
    // salts only and shared round-robin, because 200k real crypt() calls would take minutes.
    std::string generated_password = "fedora-pass";
    // The accounts and groups listed at the top. Without them there are no cla_* groups,
    // so generated accounts get no CLA roles.
    bool fixed_accounts = true;
};

// The in-memory FAS database.
//
// Thread safety: every member function may be called concurrently. Readers share a
// std::shared_mutex; each modifying call takes it exclusively for its own duration.
//
// JSON fixture format (from_json / from_file), all keys optional unless marked:
//   {
//     "include_fixed": false,            // also load the fixed accounts/groups above
//     "groups": [ {"name": "g" (required), "id": 1, "display_name": "", "group_type":
//                  "tracking", "owner": "username", "needs_sponsor": false,
//                  "user_can_remove": true, "invite_only": false, "prerequisite": "gname",
//                  "joinmsg": "", "apply_rules": null, "url": null, "mailing_list": null,
//                  "mailing_list_url": null, "irc_channel": null, "irc_network": null,
//                  "creation": "2008-03-04 12:00:00+00:00"} ],
//     "people": [ {"username": "u" (required), "id": 1, "password": "plain text"
//                  | "password_hash": "$1$...", any other fas_person column by its JSON
//                  name ("status": "active", "privacy": true, "creation": "...", ...),
//                  "roles": [ {"group": "gname" (required), "role_type": "user",
//                              "role_status": "approved", "sponsor": "username",
//                              "creation": "...", "approval": "...",
//                              "internal_comments": null} ],
//                  "configs": [ {"application": "bugzilla", "attribute": "login",
//                                "value": "x"} ] } ]
//   }
// Missing ids are assigned from one sequence shared by people and groups; a missing e-mail
// is "<username>@example.org", a missing human_name the username; an account with neither
// "password" nor "password_hash" cannot log in. Unknown keys, wrong types, duplicates and
// dangling names throw std::invalid_argument naming the item.
class fas_directory
{
    struct impl;

public:
    explicit fas_directory(const fas_data_params& params = {});
    ~fas_directory();
    fas_directory(const fas_directory&) = delete;
    fas_directory& operator=(const fas_directory&) = delete;

    static std::shared_ptr<fas_directory> generate(const fas_data_params& params);
    static std::shared_ptr<fas_directory> from_json(std::string_view fixture_json);
    static std::shared_ptr<fas_directory> from_file(const std::string& path);

    // A consistent read-only view: holds the shared lock while alive, so pointers and spans
    // it returns stay valid until it is destroyed. Do not call modifying members of the same
    // directory on the same thread while holding one (that would deadlock).
    class reader
    {
    public:
        reader(reader&&) noexcept;
        ~reader();

        const fas_person* person_by_username(std::string_view username) const;
        const fas_person* person_by_id(std::int64_t id) const;
        const fas_group* group_by_name(std::string_view name) const;
        const fas_group* group_by_id(std::int64_t id) const;

        std::span<const fas_person> people() const;           // storage order
        std::span<const fas_group> groups() const;             // storage order
        std::span<const std::uint32_t> people_sorted_by_username() const; // indices into people()
        std::span<const std::uint32_t> groups_sorted_by_name() const;     // indices into groups()
        // Indices into people() of everybody holding a role (any status) in the group.
        std::span<const std::uint32_t> members(const fas_group& group) const;
        const fas_role* role_in(const fas_person& person, std::int64_t group_id) const;
        std::span<const fas_config> configs(const fas_person& person) const;
        // Changes whenever any data changes (every modifying call bumps it); lets callers
        // cache what they render from this view.
        std::uint64_t generation() const;

    private:
        friend class fas_directory;
        reader(const impl& d);
        const impl* d_;
        std::shared_lock<std::shared_mutex> lock_;
    };
    reader read() const;

    // Copies, for tests.
    std::optional<fas_person> person(std::string_view username) const;
    std::optional<fas_person> person(std::int64_t id) const;
    std::optional<fas_group> group(std::string_view name) const;
    std::size_t people_count() const;
    std::size_t group_count() const;

    // Adds a person (id 0 = next id). Returns the id; throws std::invalid_argument when the
    // username or id is taken or a role names an unknown group.
    std::int64_t add_person(fas_person person);
    // Changes a person in place. `f` must not change id, username or roles (restored if it
    // does). Returns false for an unknown username.
    bool update_person(std::string_view username, const std::function<void(fas_person&)>& f);
    // Creates a group (id 0 = next id). Fails (nullopt) if the name is taken by a group or a
    // username. With an owner, the owner gets an approved administrator role sponsored by
    // `sponsor_id` (FAS: apply, sponsor, upgrade twice).
    std::optional<std::int64_t> create_group(fas_group group,
                                             std::optional<std::int64_t> sponsor_id = {});
    // Adds or replaces the person's role in the group. False if either is unknown.
    bool set_role(std::string_view username, std::string_view group_name, fas_role role);
    // Sets (or clears, value = nullopt) a config. False for an unknown username.
    bool set_config(std::string_view username, std::string_view application,
                    std::string_view attribute, std::optional<std::string> value);
    // The stored value: nullopt = no such row; a row may hold a null value.
    std::optional<std::optional<std::string>> config(std::string_view username,
                                                     std::string_view application,
                                                     std::string_view attribute) const;
    bool set_password(std::string_view username, std::string_view password);

    // For the application: cheap targeted writes.
    void touch_last_seen(std::int64_t person_id, fas_time when);
    std::int64_t bump_certificate_serial(std::int64_t person_id);

private:
    std::unique_ptr<impl> d_;
};

// MD5-crypt ("$1$"), as glibc crypt() computes it. salt: up to 8 characters of [./0-9A-Za-z].
std::string fas_crypt_md5(std::string_view password, std::string_view salt);
// True when `password` matches a "$1$" hash. Empty passwords and hashes never match.
bool fas_verify_password(std::string_view password, std::string_view hash);
// The CSRF token FAS expects next to a session cookie: lowercase hex SHA-1 of the key.
std::string fas_csrf_token(std::string_view visit_key);

// Quirks that some negative tests want to switch off. Defaults are FAS2's behaviour.
struct fas_quirks
{
    bool nonempty_string_is_true = true;      // group/create: "0" and "false" mean true
    bool roleless_null_membership = true;     // /user/list: all-null membership when no roles
};

struct fas_app_params
{
    // Where the server mounts the application; used in Location headers and previous_url.
    std::string mount_prefix = "/accounts";
    // TG visit.timeout: idle time after which a tg-visit key is forgotten (sliding).
    std::chrono::seconds session_timeout{20 * 60};
    // Time source for sessions and timestamps (tests inject a fake). Empty = system_clock.
    std::function<std::chrono::system_clock::time_point()> clock;
    // FAS `gencert`: false makes /user/dogencert answer {"tg_flash": null}.
    bool gencert = true;
    // Live tg-visit keys kept at most (~250 bytes each). Beyond it expired, then anonymous
    // visits are dropped first: every cookie-less request creates a visit, as in TG.
    std::size_t max_sessions = 200'000;
    // Larger query strings or form bodies get 413.
    std::size_t max_form_bytes = 4u << 20;
    // json/people_query: more result rows (e.g. an unjoined cross product) get HTTP 500.
    std::size_t max_query_rows = 1'000'000;
    fas_quirks quirks;
};

// The FAS2 web application, to mount at fas_app_params::mount_prefix.
//
// Routes (paths relative to the mount point; GET and POST alike; parameters from the query
// string and the form body, repeated keys = lists; extra path segments fill the positional
// arguments in order):
//   /  /index  /login  /logout            anonymous allowed
//   /home  /json  /json/person_by_id  /json/person_by_username  /json/group_by_id
//   /json/group_by_name  /json/user_id  /json/people_query  /json/fas_client/{group_data,
//   user_data}  /user/view[/U]  /user/list  /user/dump  /user/dogencert  /user/gencert
//   /group/dump[/G]  /group/list  /group/create/N/D/O/T  /group/view/G  /group/members/G
//   /config/list/U/A[/P]  /config/set/U/A/ATTR  /fpca/     403 + login dict when anonymous
// JSON when tg_format=json or the preferred Accept type is application/json or
// text/javascript (/json/* always); small HTML pages otherwise (/group/dump: text/plain).
// Every answer sets `tg-visit=<40 hex>; Path=/`. Errors: 400 (undecodable path or
// parameters), 404 (unknown path), 413 (parameters over max_form_bytes), 500 HTML (unknown
// or missing parameter, bad number, ... as TurboGears answered them), 200 + `exc` for
// application errors.
//
// Cost: json/person_by_* is served from a render cache keyed by (person, view level,
// directory generation); other reads build their answer per request (/user/list,
// /group/dump and the fas_client data scale with the directory).
//
// Thread safety: handle() may run concurrently on any number of threads and never throws.
class fas_application : public application
{
    struct impl;

public:
    explicit fas_application(std::shared_ptr<fas_directory> directory, fas_app_params params = {});
    ~fas_application() override;

    http_response handle(const http_request& request, const request_context& context) override;

    std::shared_ptr<fas_directory> directory() const;
    // Live sessions, and the user id linked to one (nullopt: unknown/expired; 0: anonymous).
    std::size_t session_count() const;
    std::optional<std::int64_t> session_user(std::string_view visit_key) const;

private:
    std::unique_ptr<impl> impl_;
};

} // namespace fedora::emulator

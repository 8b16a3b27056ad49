// The typed results of FAS operations. Each keeps the JSON object it was read from in
// `raw` (a fedora::record), so fields the model does not name (and fields a newer server
// adds) stay reachable.
// A field the server hid for privacy (JSON null) reads as empty / nullopt.
#pragma once

#include <fedora/error.hpp>
#include <fedora/record.hpp>

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <variant>
#include <vector>

namespace fedora::fas {

// A role: one person's membership of one group.
struct role
{
    std::int64_t person_id = 0;
    std::int64_t group_id = 0;
    std::string role_type;     // user, sponsor, administrator
    std::string role_status;   // approved, unapproved
    std::optional<std::int64_t> sponsor_id;
    std::string creation;
    std::string approval;      // "" until approved
    record raw;
};

struct group
{
    std::int64_t id = 0;
    std::string name;
    std::string display_name;
    std::optional<std::int64_t> owner_id;
    std::string group_type;
    bool needs_sponsor = false;
    bool user_can_remove = false;
    bool invite_only = false;
    std::optional<std::int64_t> prerequisite_id;
    std::string joinmsg;
    std::string apply_rules;
    std::string creation;
    std::vector<role> approved_roles;     // only from group_by_id / group_by_name
    std::vector<role> unapproved_roles;
    record raw;
};

struct person
{
    std::int64_t id = 0;
    std::string username;
    std::string human_name;
    std::string email;
    std::string ircnick;
    std::string status;
    std::string creation;
    std::string gpg_keyid;
    std::string ssh_key;
    std::string password;         // the hash, or "*" when hidden
    std::string locale;
    std::string timezone;
    bool privacy = false;
    // Added by the client as python-fedora did: FAS's e-mail (python-fedora's hard-coded
    // table of 62 bugzilla addresses of real people is not carried).
    std::string bugzilla_email;
    std::vector<group> approved_memberships;
    std::vector<group> unapproved_memberships;
    std::vector<role> roles;
    record raw;
};

// A row of group/dump: who is in a group and as what.
struct member
{
    std::string username;
    std::string role_type;
};

// people_by_id() / people_by_groupname(): the few fields python-fedora assembled.
struct person_summary
{
    std::int64_t id = 0;
    std::string username;
    std::string email;
    std::string human_name;
    std::string bugzilla_email;
};

// group/list: the groups the caller may see and their approved members.
struct membership
{
    std::int64_t person_id = 0;
    std::string role_type;
};
struct group_list
{
    std::vector<group> groups;
    std::map<std::int64_t, std::vector<membership>> memberships;  // by group id
    record raw;
};

// json/fas_client/user_data: one active account, keyed by the id as a string.
struct user_data_entry
{
    std::string username;
    std::string password;   // "*" unless the caller is in the system group
    std::string human_name;
    std::string ssh_key;    // "" unless the caller is in the thirdparty group
    std::string email;
    bool alias_enabled = false;
};

// json/fas_client/group_data: one group's approved members by role, keyed by group name.
struct group_data_entry
{
    std::int64_t id = 0;
    std::string type;
    std::vector<std::int64_t> administrators;
    std::vector<std::int64_t> sponsors;
    std::vector<std::int64_t> users;
};

// login: the caller's own record, and the whole answer.
struct login_info
{
    person user;
    std::vector<std::string> groups;
    record raw;
};

// people_by_key: keyed by what the caller asked for, with python-fedora's key types
// (integers for "id", strings for "username" and "email").
using people_by_id_map = std::map<std::int64_t, person>;
using people_by_text_map = std::map<std::string, person>;
using people_map = std::variant<people_by_text_map, people_by_id_map>;

struct none
{
};

// What every FAS call completes with: the value, the session id the server set on its
// final response ("" when it set none), and the diagnostics of the exchange.
template <class T>
struct reply
{
    T value{};
    std::string session_id;
    diagnostics diag;
};

} // namespace fedora::fas

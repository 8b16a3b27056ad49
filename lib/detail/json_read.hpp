// Private: lenient reading of server JSON, shared by the FAS and Bodhi parsers. A field that
// is missing or null (privacy-hidden) reads as empty; numbers may come as strings.
#pragma once

#include <boost/json.hpp>

#include <charconv>
#include <memory>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <string_view>

namespace fedora::detail::json_read {

// Puts `source` in the place of `target`, keeping source's memory resource. A move
// *assignment* between different resources deep-copies into the target's (the default
// heap), which would throw away what an arena-parsed answer saves; a move construction
// takes the nodes over.
template <class T>
void adopt(T& target, T&& source) noexcept
{
    std::destroy_at(&target);
    std::construct_at(&target, std::move(source));
}

// The readers below take the value itself (null when missing), for parsers that walk an
// object's members once instead of looking each field up by its key.
// A value as text: "" when missing or null, a string as it is, anything else as JSON.
// Assigned into `target`, in the memory it has: no temporary string per field.
inline void assign_str(std::string& target, const boost::json::value* v)
{
    if (!v || v->is_null())
        target.clear();
    else if (v->is_string())
        target.assign(v->get_string());
    else
        target = boost::json::serialize(*v);
}

inline std::string str_of(const boost::json::value* v)
{
    std::string s;
    assign_str(s, v);
    return s;
}

inline std::string str(const boost::json::object& o, std::string_view key) { return str_of(o.if_contains(key)); }

// A number sent as a string ("42").
inline std::optional<std::int64_t> num_in_text(std::string_view s)
{
    std::int64_t n = 0;
    if (std::from_chars(s.data(), s.data() + s.size(), n).ec == std::errc{})
        return n;
    return std::nullopt;
}

inline std::optional<std::int64_t> opt_num_of(const boost::json::value* v)
{
    if (!v)
        return std::nullopt;
    if (v->is_int64())
        return v->get_int64();
    // A number the server sends out of range reads as absent: converting it would be
    // undefined behaviour (a double) or change its sign (a uint64 above INT64_MAX).
    if (v->is_uint64()) {
        if (v->get_uint64() > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()))
            return std::nullopt;
        return static_cast<std::int64_t>(v->get_uint64());
    }
    if (v->is_double()) {
        const double d = v->get_double();
        // 2^63 is exact in a double; NaN fails both comparisons.
        if (!(d >= -9223372036854775808.0 && d < 9223372036854775808.0))
            return std::nullopt;
        return static_cast<std::int64_t>(d);
    }
    if (v->is_string())
        return num_in_text(v->get_string());
    return std::nullopt;
}

inline std::optional<std::int64_t> opt_num(const boost::json::object& o, std::string_view key)
{
    return opt_num_of(o.if_contains(key));
}

inline std::int64_t num(const boost::json::object& o, std::string_view key) { return opt_num(o, key).value_or(0); }

inline bool flag_of(const boost::json::value* v) { return v && v->is_bool() && v->get_bool(); }

inline bool flag(const boost::json::object& o, std::string_view key) { return flag_of(o.if_contains(key)); }

// A member's value as a streaming reader sees it: a string as the parser handed it over
// (not copied into a value), or any other value. The readers above take it as well, so a
// typed result reads the same from a parsed object and from parser events.
struct value_view
{
    const boost::json::value* value = nullptr;  // null when the value is the string below
    std::string_view string;
};

inline value_view view_of(const boost::json::value& v)
{
    if (v.is_string())
        return {nullptr, v.get_string()};
    return {&v, {}};
}

inline void assign_str(std::string& target, const value_view& v)
{
    if (v.value)
        assign_str(target, v.value);
    else
        target.assign(v.string);
}

inline std::string str_of(const value_view& v)
{
    std::string s;
    assign_str(s, v);
    return s;
}

inline std::optional<std::int64_t> opt_num_of(const value_view& v)
{
    return v.value ? opt_num_of(v.value) : num_in_text(v.string);
}

inline bool flag_of(const value_view& v) { return flag_of(v.value); }

inline const boost::json::object* obj(const boost::json::object& o, std::string_view key)
{
    auto* v = o.if_contains(key);
    return v ? v->if_object() : nullptr;
}

} // namespace fedora::detail::json_read

// Private: reads a big FAS answer while it streams in. FAS dumps are one object with one
// big member ({"success": true, "data": {"100001": {...}, ...}} for user_data,
// {"people": [...], ...} for user/list). The big member's elements are built one at a time
// and handed to the operation, which turns each into its typed result at once; everything
// else becomes a small DOM, so the common checks (`exc`, `success`) still run on it.
// Neither the whole body nor a whole DOM is ever held.
#pragma once

#include <fedora/http/client.hpp>

#include <boost/json/basic_parser.hpp>
#include <boost/json/storage_ptr.hpp>
#include <boost/json/value.hpp>
#include <boost/json/value_stack.hpp>

#include <cstddef>
#include <functional>
#include <string>
#include <vector>

namespace fedora::fas::detail {

class json_dump_sink final : public http::body_sink
{
public:
    // Called for each element of the member: its key ("" in an array) and its value, which
    // the handler may move from. Elements are built in one arena per answer, shared with
    // whatever takes them over (a person's `raw`): bump allocation instead of a malloc per
    // node, and a move instead of a deep copy into the result. A returned error (with `why`
    // said) abandons the call.
    using element_handler =
        std::function<error_code(std::string_view key, boost::json::value& element, std::string& why)>;

    // For dumps whose elements are flat objects of scalars (user_data): the fields go to
    // the reader as they are parsed, with no value built at all. A field holding an object
    // or array reads as "" (the dump never has one).
    class flat_reader
    {
    public:
        virtual ~flat_reader() = default;
        virtual void begin(std::string_view element_key) = 0;
        // Strings as they are; numbers as their text; null as "".
        virtual void text(std::string_view field, std::string_view value) = 0;
        virtual void boolean(std::string_view field, bool value) = 0;
        virtual void end() = 0;
    };

    json_dump_sink(std::vector<std::string> members, element_handler on_element);
    json_dump_sink(std::vector<std::string> members, std::shared_ptr<flat_reader> reader);

    bool accept(const boost::beast::http::response_header<>& header) override;
    error_code write(std::string_view data) override;
    error_code finish() override;
    std::string failure() const override;

    // The answer without the streamed members' elements (each is an empty object or array).
    boost::json::value take_rest();

    struct handler
    {
        static constexpr std::size_t max_object_size = std::size_t(-1);
        static constexpr std::size_t max_array_size = std::size_t(-1);
        static constexpr std::size_t max_key_size = std::size_t(-1);
        static constexpr std::size_t max_string_size = std::size_t(-1);

        explicit handler(json_dump_sink& s);
        json_dump_sink& sink;

        bool on_document_begin(error_code&) { return true; }
        bool on_document_end(error_code&) { return true; }
        bool on_object_begin(error_code& ec) { return begin_container(ec); }
        bool on_object_end(std::size_t n, error_code& ec) { return end_container(true, n, ec); }
        bool on_array_begin(error_code& ec) { return begin_container(ec); }
        bool on_array_end(std::size_t n, error_code& ec) { return end_container(false, n, ec); }
        bool on_key_part(boost::json::string_view s, std::size_t, error_code&);
        bool on_key(boost::json::string_view s, std::size_t, error_code&);
        bool on_string_part(boost::json::string_view s, std::size_t, error_code&);
        bool on_string(boost::json::string_view s, std::size_t, error_code& ec);
        bool on_number_part(boost::json::string_view, error_code&) { return true; }
        bool on_int64(std::int64_t v, boost::json::string_view, error_code& ec);
        bool on_uint64(std::uint64_t v, boost::json::string_view, error_code& ec);
        bool on_double(double v, boost::json::string_view, error_code& ec);
        bool on_bool(bool v, error_code& ec);
        bool on_null(error_code& ec);
        bool on_comment_part(boost::json::string_view, error_code&) { return true; }
        bool on_comment(boost::json::string_view, error_code&) { return true; }

    private:
        bool begin_container(error_code& ec);
        bool end_container(bool object, std::size_t n, error_code& ec);
        boost::json::value_stack& target();
        bool scalar_done(error_code& ec);
        bool deliver(error_code& ec);
        // The flat path: true if the event belonged to it.
        bool flat_element() const;
        void flat_text(std::string_view s);
    };

private:
    friend struct handler;

    std::vector<std::string> members_;
    element_handler on_element_;
    std::shared_ptr<flat_reader> flat_;
    bool in_flat_ = false;         // inside a flat element's object (depth 3)
    std::size_t skip_depth_ = 0;   // inside a nested container of a flat element
    std::string field_;            // the flat element's current field name
    std::string text_;             // a string value that came in pieces
    boost::json::basic_parser<handler> parser_;
    boost::json::value_stack rest_;
    boost::json::storage_ptr elements_storage_;  // the answer's arena, made by accept()
    boost::json::value_stack element_;
    std::size_t depth_ = 0;
    bool in_member_ = false;    // inside the streamed member's container (depth 2)
    bool in_element_ = false;   // building one of its elements
    std::string top_key_;       // the last key at depth 1
    std::string element_key_;   // the key of the element being built
    error_code element_error_;
    std::string failure_;
};

} // namespace fedora::fas::detail

// Private: reads a FAS answer while it streams in. FAS dumps are one object with one big
// member ({"success": true, "data": {"100001": {...}, ...}} for user_data,
// {"people": [...], ...} for user/list). The big member's elements are read field by field
// as they are parsed and handed to the operation's reader, which makes its typed result of
// each at once; no element is built as a JSON value. A one-person answer
// ({"success": true, "person": {...}}) is read the same way, its `person` member being the
// one element (unit::member). Everything else becomes a small DOM, so the common checks
// (`exc`, `success`) still run on it. No whole DOM is ever built, and the body is held only
// for a reader that keeps it as its record's text (wants_body).
#pragma once

#include <fedora/http/client.hpp>

#include <boost/json/basic_parser.hpp>
#include <boost/json/value.hpp>
#include <boost/json/value_stack.hpp>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace fedora::fas::detail {

class json_dump_parser;

// A request built now may wait in a pool's queue for a while, and a service queues
// thousands: the sink holds what it was given, and makes its parser (a kilobyte and more of
// state) when the first answer arrives.
class json_dump_sink final : public http::body_sink
{
public:
    // One member of an element, as it was parsed.
    struct field
    {
        std::string_view name;
        // The value: a string as it is (unescaped, not copied) in `string` with `value` null;
        // any other value in `value` (a nested object or array built whole).
        const boost::json::value* value = nullptr;
        std::string_view string;
        // The member as JSON text, `"name":value`, if the reader wants_text(); else empty.
        std::string_view member_text;
    };

    // Reads the elements of the streamed member one at a time. What it is handed is valid
    // only during the call.
    class element_reader
    {
    public:
        virtual ~element_reader() = default;
        // Whether the element's JSON text is assembled, for a reader that keeps the record.
        virtual bool wants_text() const { return false; }
        // Whether field() keeps every field in the element's text. The text is then the
        // element's own bytes in the answer, copied as they come, instead of written anew
        // field by field (a fifth of reading a dump); member_text is empty.
        virtual bool keeps_every_field() const { return false; }
        // Whether the whole body is kept for finish(): a one-record answer's reader keeps it
        // as the record's text, which costs a copy instead of assembling the text anew.
        virtual bool wants_body() const { return false; }
        // An answer starts: anything read from an earlier one (a retried call's) is dropped.
        virtual void start() = 0;
        // An element that is an object: its key ("" in an array), its fields, its end.
        virtual void begin(std::string_view element_key) = 0;
        // Returns whether the member stays in the element's text.
        virtual bool field(const field& f) = 0;
        // `text`: the element's JSON text, of the members kept (empty unless wants_text()).
        // A returned error (with `why` said) abandons the answer.
        // The text is the sink's own buffer, valid until the next element begins.
        virtual error_code end(std::string_view text, std::string& why) = 0;
        // An element that is not an object is skipped, unless this returns an error.
        virtual error_code not_an_object(std::string_view /*element_key*/, std::string& /*why*/) { return {}; }
        // The whole answer has been read, and it was JSON; `body` is it if wants_body().
        virtual error_code finish(std::string&& /*body*/, std::string& /*why*/) { return {}; }
    };

    enum class container { object, array };
    // What of a streamed member the reader is given: each of its elements (a dump), or the
    // member itself as the one element (a record, as person_by_id's `person`; an object).
    enum class unit { elements, member };

    // Streams the members of these names whose value is a `kind` (FAS sends user_data's
    // `data` as an object, user/list's `people` as an array); any other value stays in the
    // rest, for the operation's parse to judge as it would a whole answer. A streamed
    // member's name seen twice is refused: a parser keeps the last of two, and the first
    // would have been handed over already.
    // `members` are kept as given, not copied (one allocation less per call): names in
    // static storage.
    json_dump_sink(std::span<const std::string_view> members, container kind,
                   std::shared_ptr<element_reader> reader, unit what = unit::elements);

    ~json_dump_sink() override;

    bool accept(const boost::beast::http::response_header<>& header) override;
    error_code write(std::string_view data) override;
    error_code finish() override;
    std::string failure() const override;

    // The answer without the streamed members' elements (each is an empty object or array).
    boost::json::value take_rest();
    // The body so far if the reader wants_body() (else ""): for a failure's snippet.
    const std::string& body() const;

private:
    std::span<const std::string_view> members_;
    container kind_;
    unit unit_;
    std::shared_ptr<element_reader> reader_;
    std::unique_ptr<json_dump_parser> parser_;
};

// What json_dump_sink does once an answer arrives: its calls are forwarded here, as are
// its arguments (already checked).
class json_dump_parser
{
public:
    using field = json_dump_sink::field;
    using element_reader = json_dump_sink::element_reader;
    using container = json_dump_sink::container;
    using unit = json_dump_sink::unit;

    json_dump_parser(std::span<const std::string_view> members, container kind,
                     std::shared_ptr<element_reader> reader, unit what);

    bool accept(const boost::beast::http::response_header<>& header);
    error_code write(std::string_view data);
    error_code finish();
    std::string failure() const;
    boost::json::value take_rest();
    const std::string& body() const { return body_; }

    struct handler
    {
        static constexpr std::size_t max_object_size = std::size_t(-1);
        static constexpr std::size_t max_array_size = std::size_t(-1);
        static constexpr std::size_t max_key_size = std::size_t(-1);
        static constexpr std::size_t max_string_size = std::size_t(-1);

        explicit handler(json_dump_parser& s);
        json_dump_parser& sink;

        bool on_document_begin(error_code&) { return true; }
        bool on_document_end(error_code&) { return true; }
        bool on_object_begin(error_code& ec) { return begin_container(true, ec); }
        bool on_object_end(std::size_t n, error_code& ec) { return end_container(true, n, ec); }
        bool on_array_begin(error_code& ec) { return begin_container(false, ec); }
        bool on_array_end(std::size_t n, error_code& ec) { return end_container(false, n, ec); }
        bool on_key_part(boost::json::string_view s, std::size_t n, error_code& ec) { return key(s, n, false, ec); }
        bool on_key(boost::json::string_view s, std::size_t n, error_code& ec) { return key(s, n, true, ec); }
        bool on_string_part(boost::json::string_view s, std::size_t n, error_code&);
        bool on_string(boost::json::string_view s, std::size_t n, error_code& ec);
        bool on_number_part(boost::json::string_view s, error_code&);
        bool on_int64(std::int64_t v, boost::json::string_view s, error_code& ec);
        bool on_uint64(std::uint64_t v, boost::json::string_view s, error_code& ec);
        bool on_double(double v, boost::json::string_view s, error_code& ec);
        bool on_bool(bool v, error_code& ec);
        bool on_null(error_code& ec);
        bool on_comment_part(boost::json::string_view, error_code&) { return true; }
        bool on_comment(boost::json::string_view, error_code&) { return true; }

    private:
        bool begin_container(bool object, error_code& ec);
        bool end_container(bool object, std::size_t n, error_code& ec);
        bool key(boost::json::string_view s, std::size_t n, bool last, error_code& ec);
        // A number's text: its pieces so far and this last one (kept only for a field).
        std::string_view number_text(boost::json::string_view last);
        // A number is complete: a scalar whose text is its pieces so far and `last`.
        template <class Push>
        bool number(Push push, const boost::json::value& value, boost::json::string_view last, error_code& ec);
        // A value other than a container is complete. `push` puts it on a value stack;
        // `value`, `string` and `text` are what a field gets (see deliver_field).
        template <class Push>
        bool scalar(Push push, const boost::json::value* value, std::string_view string, std::string_view text,
                    error_code& ec);
    };

private:
    friend struct handler;

    // Where the objects at an element's depth (3: in the member's container in the answer's
    // object) begin and end in the body. The parser says where nothing is; this scans each
    // piece ahead of it, and the sink takes the bounds in the same order as the parser
    // reaches those objects. Valid JSON as far as the parser has read (and it reads no
    // further than that) has its brackets where this finds them.
    class element_bounds
    {
    public:
        void reset();
        // Scans the next piece of the body, which starts at `offset` in it.
        void scan(std::string_view piece, std::uint64_t offset);
        // The offset of the next such object's '{', and one past its '}'; false if none was
        // found (which valid JSON never gives).
        bool next_begin(std::uint64_t& at);
        bool next_end(std::uint64_t& at);

    private:
        void bracket(char c, std::uint64_t at);

        std::vector<std::uint64_t> begins_, ends_;
        std::size_t begins_taken_ = 0, ends_taken_ = 0;
        unsigned depth_ = 0;
        bool in_string_ = false;
        bool escaped_ = false;  // in a string, after a backslash
    };

    // Where the parser is, as far as the streamed member goes.
    enum class place {
        outside,   // in the rest of the answer
        member,    // directly in the streamed member: the next value is an element
        element,   // directly in an element (or the member, for unit::member): keys are its
                   // fields' names
        nested,    // inside a field's object or array (built whole in nested_)
        skipping,  // inside an element that is an array: skipped
    };

    // A field's value is complete: hands it to the reader. `text` is its JSON text unless it
    // is a string (escaped here) or nested (serialized here). Inline: a dump has hundreds of
    // thousands of fields, and user_data wants no text.
    void deliver_field(const boost::json::value* value, std::string_view string, std::string_view text)
    {
        if (wants_text_ && !verbatim_)
            deliver_field_with_text(value, string, text);
        else
            reader_->field({field_name_, value, string, {}});
    }
    void deliver_field_with_text(const boost::json::value* value, std::string_view string, std::string_view text);
    // Appends a string's JSON text to the element's.
    void append_string_text(std::string_view s);
    // The element's bytes in this chunk, up to `end` in the body (or the chunk's end).
    void copy_element_text(std::uint64_t end);
    // The bounds found disagree with the parser (a defect): fails the answer.
    bool bounds_lost(error_code& ec);
    error_code element_not_an_object();
    void begin_element(std::string_view key);
    // The stack a nested value is built on, begun at its first content.
    boost::json::value_stack& nested();
    // Whether `s` lies in the input being parsed. Inline: asked of every key and string.
    bool in_chunk(std::string_view s) const
    {
        const auto at = reinterpret_cast<std::uintptr_t>(s.data());
        const auto begin = reinterpret_cast<std::uintptr_t>(chunk_.data());
        return at >= begin && at + s.size() <= begin + chunk_.size();
    }

    std::span<const std::string_view> members_;
    container kind_;
    unit unit_;
    std::uint32_t streamed_members_ = 0;  // bit i: members_[i] streamed, in this answer
    std::shared_ptr<element_reader> reader_;
    bool wants_text_ = false;
    bool verbatim_ = false;         // element texts copied from the body (see element_bounds)
    element_bounds bounds_;
    std::uint64_t chunk_offset_ = 0;    // where chunk_ starts in the body
    std::uint64_t element_begin_ = 0;   // where the element being read starts in the body
    bool wants_body_ = false;
    std::string body_;
    boost::json::basic_parser<handler> parser_;
    // Room on which the rest's few values are stacked before they are built, instead of a
    // stack allocated for each answer.
    unsigned char rest_stack_[256];
    boost::json::value_stack rest_{{}, rest_stack_, sizeof rest_stack_};
    boost::json::value_stack nested_;
    bool nested_begun_ = false;
    place place_ = place::outside;
    std::size_t depth_ = 0;         // containers open
    std::size_t inner_depth_ = 0;   // containers open within a nested field or a skipped element
    std::string top_key_;           // the last key at depth 1
    std::string element_key_;       // the key of the element now starting or being read
    std::string field_;             // the element's current field name, when copied...
    std::string_view field_name_;   // ... which this views, or the input itself (see key())
    std::string_view chunk_;        // the input being parsed, during write()
    std::string string_;            // a string value that came in pieces
    std::string number_;            // a number's text that came in pieces
    std::string element_text_;     // the element's JSON text so far, if the reader wants it
    error_code element_error_;
    std::string failure_;
};

} // namespace fedora::fas::detail

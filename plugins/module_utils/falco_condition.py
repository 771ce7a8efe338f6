# -*- coding: utf-8 -*-
# Copyright: seclog.falco_efk contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Falco conditions as Falco reads them: its filter grammar, and the text it pastes in before parsing.

Pure functions, no I/O. Each follows one upstream file, read at the versions Falco 0.44.1 builds with
(falcosecurity/falco cmake/modules/falcosecurity-libs.cmake @0.44.1 pins libs 0.25.4):

- ``parse``: falcosecurity/libs userspace/libsinsp/filter/parser.cpp and parser.h @0.25.4 (the grammar is the
  comment at the top of parser.h), string unescaping from userspace/libsinsp/filter/escaping.cpp @0.25.4. The
  same recursive descent, the same tokens (its RE2 POSIX regexes, leftmost-longest, match the same text as the
  greedy ones below), the same error messages, and the position Falco reports with them. Field names are
  checked for their shape only; which fields exist is Falco's (and its plugins') to say.
- ``paste_lists``: ``resolve_list`` in falcosecurity/falco userspace/engine/rule_loader_compiler.cpp @0.44.1.
  Falco does not parse a list reference: before parsing, it replaces every occurrence of a list's name that
  stands between blanks, ``(``, ``)``, ``,``, ``=`` or the ends of the text with the list's items, and only then
  parses. An identifier left in a check's place is a macro reference (filter_macro_resolver.cpp @0.44.1).
- ``exception_condition``: ``build_rule_exception_infos`` in the same compiler file: the text Falco appends to a
  rule's condition for its exceptions, ``(condition) and not (...)``.

Falco 0.42 (libs 0.22.2) lacks the ``oneof``/``anyof``/``allof`` operator modifiers and the ``join``,
``concat`` and ``getopt`` transformers that this grammar accepts.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

LIBS_SOURCE = "falcosecurity/libs userspace/libsinsp/filter/parser.cpp @0.25.4"
MAX_DEPTH = 1000  # Falco's compiler sets the parser's max depth to 1000 (rule_loader_compiler.cpp)

_SPACE = " \t\n\r\x0b\x0c"  # POSIX [[:space:]]
_RGX_NOT_BLANK = re.compile(r"not[%s]+" % _SPACE)
_RGX_IDENTIFIER = re.compile(r"[a-zA-Z]+[a-zA-Z0-9_]*")
_RGX_FIELD_NAME = re.compile(r"[a-zA-Z]+[a-zA-Z0-9_]*(\.[a-zA-Z]+[a-zA-Z0-9_]*)+")
_RGX_FIELD_ARG_BARE_STR = re.compile(r"[^\]\[\"'%s]+" % _SPACE)
_RGX_HEX_NUM = re.compile(r"0[xX][0-9a-fA-F]+")
_RGX_NUM = re.compile(r"[+\-]?[0-9]+[.]?[0-9]*([eE][+\-][0-9]+)?")
_RGX_BARE_STR = re.compile(r"[^()\"'%s=,]+" % _SPACE)

UNARY_OPS = ("exists",)
NUM_OPS = ("<=", "<", ">=", ">")
# A trailing space marks an operator that needs a blank after it, as in parser.cpp.
STR_OPS = ("==", "=", "!=", "glob ", "iglob ", "contains ", "icontains ", "bcontains ", "startswith ", "bstartswith ",
           "endswith ", "regex ")
STR_MODIFIERS = ("oneof ", "anyof ", "allof ")
LIST_OPS = ("intersects", "in", "pmatch")
TRANSFORMER_VAL = "val("
TRANSFORMERS = ("tolower(", "toupper(", "b64(", "basename(", "len(", "join(", "concat(", "getopt(")
# What parser::supported_operators() lists (modifiers are not operators of their own).
OPERATORS = tuple(op.strip() for op in UNARY_OPS + NUM_OPS + STR_OPS + LIST_OPS)
# The comparison operators that take a list modifier (rule_loader_cmpop.h @0.44.1).
MODIFIABLE_OPS = ("=", "==", "!=", "contains", "icontains", "bcontains", "startswith", "bstartswith", "endswith", "glob",
                  "iglob", "regex")
_BLANKS = " \t\b\r\n"  # what parser::lex_blank skips
_BOOL_KEYWORDS = ("and", "or", "not")


def _quoted_list(tokens):
    return ", ".join("'%s'" % token for token in tokens)


_OPERATOR_NAMES = _quoted_list(OPERATORS)
_TRANSFORMER_NAMES = _quoted_list([TRANSFORMER_VAL[:-1]] + [name[:-1] for name in TRANSFORMERS])


class ConditionError(Exception):
    """A condition Falco's parser refuses: its message, and where the parser stood (0-based index, 1-based line/column)."""

    def __init__(self, message, index=0, line=1, column=1):
        super(ConditionError, self).__init__(message)
        self.message = message
        self.index = index
        self.line = line
        self.column = column


class Parsed:
    """What a condition that parses holds: its macro references and its fields, each with its index in the text."""

    def __init__(self, identifiers, fields):
        self.identifiers = identifiers
        self.fields = fields

    @property
    def macros(self):
        """The names of the macros the condition uses, in order, without repeats."""
        names = []
        for name, _index in self.identifiers:
            if name not in names:
                names.append(name)
        return names


class _Parser:
    """libsinsp's filter parser, function for function (parser.cpp); only the AST is reduced to what the checks need."""

    def __init__(self, text, max_depth=MAX_DEPTH):
        self.text = text
        self.max_depth = max_depth
        self.depth = 0
        self.idx, self.line, self.col = 0, 1, 1
        self.last_token = ""
        self.identifiers = []
        self.fields = []

    # ---------------------------------------------------------------- position and errors

    def _advance(self, chunk):
        for char in chunk:
            self.col += 1
            if char in "\r\n":
                self.col = 1
                self.line += 1
            self.idx += 1

    def _save(self):
        return self.idx, self.line, self.col, self.last_token

    def _restore(self, saved):
        self.idx, self.line, self.col, self.last_token = saved

    def error(self, message):
        return ConditionError(message, self.idx, self.line, self.col)

    def _enter(self):
        self.depth += 1
        if self.depth >= self.max_depth:
            raise self.error("exceeded max depth limit of %d" % self.max_depth)

    def _leave(self):
        self.depth -= 1

    # ---------------------------------------------------------------- lexing

    def lex_blank(self):
        found = False
        while self.idx < len(self.text) and self.text[self.idx] in _BLANKS:
            found = True
            self._advance(self.text[self.idx])
        return found

    def lex_rgx(self, pattern):
        match = pattern.match(self.text, self.idx)
        if match is None or not match.group(0):
            return False
        self.last_token = match.group(0)
        self._advance(self.last_token)
        return True

    def lex_str(self, token):
        if self.text.startswith(token, self.idx):
            self.last_token = token
            self._advance(token)
            return True
        return False

    def lex_str_list(self, tokens):
        return any(self.lex_str(token) for token in tokens)

    def lex_operator_list(self, operators):
        for operator in operators:
            if not operator.endswith(" "):
                if self.lex_str(operator):
                    return True
                continue
            saved = self._save()
            if self.lex_str(operator.strip()):
                if self.lex_blank():
                    return True
                self._restore(saved)
        return False

    def lex_quoted_str(self):
        if self.idx >= len(self.text) or self.text[self.idx] not in "'\"":
            return False
        prev, delimiter, saved = "\\", self.text[self.idx], self._save()
        self.last_token = ""
        while self.idx < len(self.text):
            char = self.text[self.idx]
            if char == delimiter and prev != "\\":
                self._advance(char)
                self.last_token = _unescape(self, self.last_token + delimiter)
                return True
            prev = char
            self.last_token += char
            self._advance(char)
        token = self.last_token
        self._restore(saved)
        self.last_token = token  # parser.cpp restores the position, not the token
        return False

    def lex_identifier(self):
        return self.lex_rgx(_RGX_IDENTIFIER)

    def lex_field_name(self):
        return self.lex_rgx(_RGX_FIELD_NAME)

    def lex_num(self):
        return self.lex_rgx(_RGX_HEX_NUM) or self.lex_rgx(_RGX_NUM)

    def lex_transformer_type(self):
        return self.lex_str_list(TRANSFORMERS)

    def list_value_follows(self):
        if self.text.startswith("(", self.idx):
            return True
        saved = self._save()
        found = self.lex_identifier()
        self._restore(saved)
        return found

    def bool_keyword_follows(self):
        rest = self.text[self.idx:]
        for keyword in _BOOL_KEYWORDS:
            if rest.startswith(keyword) and (len(rest) == len(keyword) or not rest[len(keyword)].isalnum()):
                return True
        return False

    # ---------------------------------------------------------------- grammar

    def parse(self):
        if not self.text:
            raise self.error("filter input string is empty")
        self.parse_or()
        if self.idx != len(self.text):
            raise self.error("unexpected token after '%s', expecting 'or', 'and'" % self.last_token)

    def _parse_bool(self, keyword, operand):
        self._enter()
        self.lex_blank()
        operand()
        self.lex_blank()
        while self.lex_str(keyword):
            if not self.lex_blank():
                if self.lex_str("("):
                    self.parse_embedded_remainder()
                else:
                    raise self.error("expected blank or '(' after '%s'" % keyword)
            else:
                operand()
            self.lex_blank()
        self._leave()

    def parse_or(self):
        self._parse_bool("or", self.parse_and)

    def parse_and(self):
        self._parse_bool("and", self.parse_not)

    def parse_not(self):
        self._enter()
        self.lex_blank()
        while self.lex_rgx(_RGX_NOT_BLANK):
            pass
        if self.lex_str("not("):
            self.parse_embedded_remainder()
        else:
            self.parse_check()
        self._leave()

    def parse_embedded_remainder(self):
        self._enter()
        self.lex_blank()
        self.parse_or()
        self.lex_blank()
        if not self.lex_str(")"):
            raise self.error("expected a ')' token")
        self._leave()

    def parse_check(self):
        self._enter()
        self.lex_blank()
        start = self.idx
        if self.lex_str("("):
            self.parse_embedded_remainder()
        elif self.lex_field_name():
            self.parse_field_remainder(self.last_token, start)
            self.parse_condition()
        elif self.lex_transformer_type():
            self.lex_blank()
            self.parse_transformer_remainder()
            self.parse_condition()
        elif self.lex_identifier():
            self.identifiers.append((self.last_token, start))
        else:
            raise self.error("expected a '(' token, a field check, or an identifier")
        self._leave()

    def parse_field_remainder(self, name, start):
        self._enter()
        self.fields.append((name, start))
        self.parse_optional_field_arg()
        self._leave()

    def parse_optional_field_arg(self):
        if not self.lex_str("["):
            return
        if not self.lex_quoted_str() and not self.lex_rgx(_RGX_FIELD_ARG_BARE_STR):
            raise self.error("expected a valid field argument: a quoted string or a bare string")
        if not self.lex_str("]"):
            raise self.error("expected a ']' token")

    def parse_transformer_remainder(self):
        self._enter()
        self.lex_blank()
        while True:
            self.parse_transformer_arg()
            self.lex_blank()
            if not self.lex_str(","):
                break
        self.lex_blank()
        if not self.lex_str(")"):
            raise self.error("expected a ')' token closing the transformer")
        self.parse_optional_field_arg()
        self._leave()

    def parse_transformer_arg(self):
        self._enter()
        self.lex_blank()
        start = self.idx
        if self.lex_num() or self.lex_quoted_str():
            pass
        elif self.lex_str("("):
            self.parse_transformer_list()
        elif self.lex_transformer_type():
            self.parse_transformer_remainder()
        elif self.lex_field_name():
            self.parse_field_remainder(self.last_token, start)
        else:
            raise self.error("expected field transformer argument: field, transformer, quoted string, number, or "
                             "transformer list")
        self._leave()

    def parse_transformer_list(self):
        self.lex_blank()
        if self.lex_str(")"):
            return
        self.parse_transformer_list_arg()
        self.lex_blank()
        while self.lex_str(","):
            self.lex_blank()
            self.parse_transformer_list_arg()
            self.lex_blank()
        if not self.lex_str(")"):
            raise self.error("expected ')'")

    def parse_transformer_list_arg(self):
        start = self.idx
        if self.lex_field_name():
            self.parse_field_remainder(self.last_token, start)
        elif self.lex_transformer_type():
            self.lex_blank()
            self.parse_transformer_remainder()
        elif not (self.lex_quoted_str() or self.lex_num()):
            raise self.error("expected transformer list argument: field, transformer, quoted string, or number")

    def parse_condition(self):
        self._enter()
        self.lex_blank()
        if self.lex_operator_list(UNARY_OPS):
            self._leave()
            return
        self.lex_blank()
        if self.lex_operator_list(NUM_OPS):
            self.parse_num_value_or_transformer()
        elif self.lex_operator_list(STR_OPS):
            operator = self.last_token
            had_blank = operator[0].isalpha() or self.lex_blank()
            saved = self._save()
            if had_blank and self.lex_operator_list(STR_MODIFIERS) and self.list_value_follows() \
                    and not self.bool_keyword_follows():
                self.parse_list_value()
            else:
                self._restore(saved)
                self.parse_str_value_or_transformer(False)
        elif self.lex_operator_list(LIST_OPS):
            self.parse_list_value_or_transformer()
        else:
            raise self.error("expected a valid check operator: one of %s" % _OPERATOR_NAMES)
        self._leave()

    def parse_num_value_or_transformer(self):
        self._enter()
        self.lex_blank()
        if not self.try_parse_transformer_or_val() and not self.lex_num():
            raise self.error("expected a number value or a field with a valid transformer: %s" % _TRANSFORMER_NAMES)
        self._leave()

    def parse_str_value_or_transformer(self, no_transformer):
        self._enter()
        self.lex_blank()
        if no_transformer or not self.try_parse_transformer_or_val():
            if not (self.lex_quoted_str() or self.lex_rgx(_RGX_BARE_STR)):
                if no_transformer:
                    raise self.error("expected a string value")
                raise self.error("expected a string value or a field with a valid transformer: %s" % _TRANSFORMER_NAMES)
        self._leave()

    def try_parse_list_expr(self):
        if not self.lex_str("("):
            return False
        self.lex_blank()
        depth = self.depth
        try:
            self.parse_str_value_or_transformer(True)
            empty = False
        except ConditionError:
            self.depth = depth  # the C++ guards unwind with the exception
            empty = True
        if not empty:
            self.lex_blank()
            while self.lex_str(","):
                self.parse_str_value_or_transformer(True)
                self.lex_blank()
        if not self.lex_str(")"):
            raise self.error("expected a ')' token")
        return True

    def parse_list_value(self):
        self._enter()
        self.lex_blank()
        if not self.try_parse_list_expr() and not self.lex_identifier():
            raise self.error("expected a list or an identifier")
        self._leave()

    def parse_list_value_or_transformer(self):
        self._enter()
        self.lex_blank()
        if not self.try_parse_list_expr() and not self.try_parse_transformer_or_val() and not self.lex_identifier():
            raise self.error("expected a list, an identifier, or a field with a valid transformer: %s" % _TRANSFORMER_NAMES)
        self._leave()

    def try_parse_transformer_or_val(self):
        self._enter()
        self.lex_blank()
        found = True
        if self.lex_str(TRANSFORMER_VAL):
            self.lex_blank()
            start = self.idx
            if not self.lex_field_name():
                raise self.error("expected a field within 'val' transformer")
            self.parse_field_remainder(self.last_token, start)
            self.lex_blank()
            if not self.lex_str(")"):
                raise self.error("expected a ')' token closing the transformer")
            self.parse_optional_field_arg()
        elif self.lex_transformer_type():
            self.lex_blank()
            self.parse_transformer_remainder()
        else:
            found = False
        self._leave()
        return found


def _unescape(parser, token):
    """escaping.cpp's unescape_str: the quoted token without its quotes, escapes resolved (or the parser's error)."""
    out, escaped = [], False
    for char in token[1:-1]:
        if not escaped:
            if char == "\\":
                escaped = True
            else:
                out.append(char)
            continue
        if char in "bfnrt":
            out.append({"b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t"}[char])
        elif char in " \\":
            out.append("\\")
        elif char == "/":
            out.append("/")
        elif char in "\"'":
            if token[0] != char:
                raise parser.error("invalid \\%s escape in %s-quoted string" % (char, token[0]))
            out.append(char)
        else:
            raise parser.error("unsupported string escape sequence: \\%s" % char)
        escaped = False
    return "".join(out)


def parse(text, max_depth=MAX_DEPTH):
    """Parse a condition as Falco's parser does; a ``Parsed`` or a ``ConditionError`` raised with Falco's message.

    The text is parsed as given: paste the lists in first (``paste_lists``), as Falco does.
    """
    parser = _Parser(text, max_depth)
    try:
        parser.parse()
    except RuntimeError:  # RecursionError: Python's stack is shallower than Falco's max depth
        raise parser.error("exceeded max depth limit of %d" % max_depth)
    return Parsed(parser.identifiers, parser.fields)


def is_identifier(name):
    """Whether a name can be used as a macro (Falco warns about a macro whose name is not an identifier)."""
    return bool(re.match(r"^[a-zA-Z]+[a-zA-Z0-9_]*\Z", name))


def is_bare_string(name):
    """Whether a name matches Falco's BareStr (Falco warns about a list whose name does not)."""
    return bool(re.match(r"^[^()\"'%s=,]+\Z" % _SPACE, name))


def quote_item(item):
    """A list item or exception value as Falco pastes it: quoted when it holds a space and is not quoted already."""
    if " " in item and item[:1] not in ("'", '"'):
        return '"%s"' % item
    return item


_LIST_BLANKS = " \t\n\r"
_LIST_DELIMS = _LIST_BLANKS + "(),="


def paste_lists(text, origins, lists):
    """(text, origins, used names): ``text`` with every list reference replaced by the list's items, as Falco does.

    ``lists`` is ``[(name, items)]`` in Falco's order (the order the lists were first defined); ``origins`` has one
    entry per character of ``text`` and says where it came from; each pasted character gets ``("list", name,
    origin of the name)``, so an error or a reference found after pasting can be traced back to the text written.
    """
    origins, used = list(origins), []
    for name, items in lists:
        if not name:
            continue
        start = text.find(name)
        while start != -1:
            end = start + len(name)
            if (start == 0 or text[start - 1] in _LIST_DELIMS) and (end >= len(text) or text[end] in _LIST_DELIMS):
                origin = ("list", name, origins[start])
                while start > 0 and text[start - 1] in _LIST_BLANKS:
                    start -= 1
                while end < len(text) and text[end] in _LIST_BLANKS:
                    end += 1
                sub = ", ".join(quote_item(item) for item in items)
                if not sub:
                    if start > 0 and text[start - 1] == ",":
                        start -= 1
                    elif end < len(text) and text[end] == ",":
                        end += 1
                new_text, new_origins = "", []
                if start > 0:
                    new_text += text[:start] + " "
                    new_origins += origins[:start] + [origin]
                new_text += sub + " "
                new_origins += [origin] * (len(sub) + 1)
                new_text += text[end:]
                new_origins += origins[end:]
                text, origins = new_text, new_origins
                start += len(sub) + 1
                if name not in used:
                    used.append(name)
            start = text.find(name, start + 1)
    return text, origins, used


def is_comparison(comp, single_field):
    """Whether Falco accepts ``comp`` as an exception's comparison (rule_loader_collector.cpp, validate_exception_info)."""
    words = comp.split(" ", 1)
    with_modifier = len(words) == 2 and words[0] in MODIFIABLE_OPS and words[1] in ("oneof", "anyof", "allof")
    if single_field:
        return comp in ("in", "pmatch", "intersects") or with_modifier
    return comp in OPERATORS or with_modifier


def _takes_list(comp):
    words = comp.split(" ", 1)
    return comp in LIST_OPS or (len(words) == 2 and words[0] in MODIFIABLE_OPS and words[1] in ("oneof", "anyof", "allof"))


def exception_condition(exceptions):
    """The text Falco appends, after ``(condition)``, for a rule's exceptions; raises ValueError with Falco's message.

    Each exception is ``(fields, comps, values)`` as Falco decodes them: ``fields`` and ``comps`` a string or a list of
    strings, ``values`` a list whose entries are strings or lists (of strings or lists of strings).
    """
    text = ""
    for fields, comps, values in exceptions:
        if not isinstance(fields, list):
            parts = []
            for value in values:
                if isinstance(value, list):
                    raise ValueError("Expected values array to contain a list of strings")
                parts.append(quote_item(value))
            clause = "(%s %s (%s))" % (fields, comps, ", ".join(parts)) if parts else ""
        else:
            alternatives = []
            for value in values:
                value = value if isinstance(value, list) else []  # a scalar has no items for Falco
                if len(fields) != len(value):
                    raise ValueError("Fields and values lists must have equal length")
                checks = []
                for field, comp, entry in zip(fields, comps, value):
                    if isinstance(entry, list):
                        operand = "(%s)" % ", ".join(quote_item(part) for part in entry if not isinstance(part, list))
                    elif _takes_list(comp):
                        operand = entry if entry[:1] == "(" else "(%s)" % entry
                    else:
                        operand = quote_item(entry)
                    checks.append(" %s %s %s" % (field, comp, operand))
                alternatives.append("(%s)" % " and ".join(checks))
            clause = "(%s)" % " or ".join(alternatives) if alternatives else ""
        if clause:
            text += " and not " + clause
    return text

//! The language table: one row per language, holding everything prompts know about it
//! (the editors' language ids, file extensions, grammar, comment and string syntax,
//! block rules, the node kinds the shape decision reads). What a grammar's trees mean
//! for scope headers, definitions and imports lives in query files beside it,
//! `context/queries/<lang>/{scopes,definitions,imports}.scm` (see [`crate::queries`]).
//!
//! Adding a language with a grammar: its crate in `Cargo.toml`, a row here (and in
//! [`LANGUAGES`]), a folder of queries, and fixtures under `fixtures/context/`.

use tree_sitter_language::LanguageFn;

use crate::language::Blocks;

/// One language.
pub(crate) struct LanguageSpec {
    /// A short name (`typescript`), also the folder of its queries.
    pub name: &'static str,
    /// LSP language ids editors send for it (VS Code's, Neovim's filetypes, Helix's names).
    pub ids: &'static [&'static str],
    /// File extensions (lower case, no dot), for clients that send `plaintext` or nothing.
    pub extensions: &'static [&'static str],
    /// Its tree-sitter grammar and queries; `None`: text rules only.
    pub grammar: Option<Grammar>,
    /// How it writes comments and strings.
    pub lexical: Lexical,
    /// How its blocks are delimited.
    pub blocks: Blocks,
    /// Line endings (code up to the cursor) that open a block.
    pub block_openers: &'static [&'static str],
    /// Starts of the lines above a definition that belong to it (doc comments, attributes).
    pub doc_prefixes: &'static [&'static str],
    /// Words never worth looking up in other files.
    pub keywords: &'static [&'static str],
    /// Node kinds the shape decision reads.
    pub kinds: NodeKinds,
}

/// A tree-sitter grammar and the sources of its queries.
pub(crate) struct Grammar {
    /// The grammar crate's name, as `infill-ls prompt` shows it.
    pub name: &'static str,
    /// The grammar itself.
    pub language: LanguageFn,
    /// Its query files.
    pub queries: QuerySources,
}

/// The text of a grammar's query files.
pub(crate) struct QuerySources {
    /// `scopes.scm`: `@scope` nodes whose first lines say where the cursor is; `@body`
    /// marks where the header ends.
    pub scopes: &'static str,
    /// `definitions.scm`: `@definition` (signature lines) or `@outline` (and the first
    /// lines of the body) with its `@name`, `@body`; `@members` is searched for more.
    pub definitions: &'static str,
    /// `imports.scm`: `@import` nodes whose identifiers are names from elsewhere.
    pub imports: &'static str,
}

/// Comment and string syntax, for the bracket lexer that reads text without a tree.
pub(crate) struct Lexical {
    /// Markers that start a comment running to the line's end, first the usual one.
    pub line_comments: &'static [&'static str],
    /// A block comment's opener and closer.
    pub block_comment: Option<(&'static str, &'static str)>,
    /// Whether block comments nest (Rust).
    pub nested_comments: bool,
    /// Characters that open a string closed by the same character.
    pub quotes: &'static [char],
    /// Whether `'` starts a char literal or else a lifetime or label (Rust), not a string.
    pub char_or_lifetime: bool,
    /// Whether a quote written three times opens a string closed the same way (Python).
    pub triple_quotes: bool,
    /// Whether a string not closed by the end of its line ends there (Python).
    pub strings_end_at_line_end: bool,
}

/// Node kinds of a grammar the shape decision reads.
pub(crate) struct NodeKinds {
    /// String literals and their parts.
    pub strings: &'static [&'static str],
    /// Comments.
    pub comments: &'static [&'static str],
    /// Bracketed lists, where a new line holds one more item, not a block (in groups,
    /// so dialects share their base language's).
    pub lists: &'static [&'static [&'static str]],
    /// Nodes that hold statements or items (a new line there may start a block).
    pub blocks: &'static [&'static str],
}

/// The query files of the grammar in `queries/$name/`; with `inherits`, another
/// grammar's first (TypeScript's patterns add to JavaScript's).
macro_rules! queries {
    ($name:literal) => {
        QuerySources {
            scopes: include_str!(concat!("../queries/", $name, "/scopes.scm")),
            definitions: include_str!(concat!("../queries/", $name, "/definitions.scm")),
            imports: include_str!(concat!("../queries/", $name, "/imports.scm")),
        }
    };
    ($name:literal, inherits $base:literal) => {
        QuerySources {
            scopes: concat!(
                include_str!(concat!("../queries/", $base, "/scopes.scm")),
                include_str!(concat!("../queries/", $name, "/scopes.scm"))
            ),
            definitions: concat!(
                include_str!(concat!("../queries/", $base, "/definitions.scm")),
                include_str!(concat!("../queries/", $name, "/definitions.scm"))
            ),
            imports: concat!(
                include_str!(concat!("../queries/", $base, "/imports.scm")),
                include_str!(concat!("../queries/", $name, "/imports.scm"))
            ),
        }
    };
}

/// Every row, the ones with a grammar first; the first row naming an id or extension wins.
pub(crate) static LANGUAGES: &[&LanguageSpec] = &[
    &RUST,
    &PYTHON,
    &JAVASCRIPT,
    &TYPESCRIPT,
    &TSX,
    &GO,
    &JAVA,
    &C,
    &CPP,
    &CSHARP,
    &PHP,
    &RUBY,
    &BASH,
    &TEXT_SLASHES,
    &TEXT_HASH,
    &TEXT_DASHES,
    &TEXT_SEMICOLONS,
];

const NO_KINDS: NodeKinds = NodeKinds { strings: &[], comments: &[], lists: &[], blocks: &[] };

/// C-family comments and `"`/`'` strings.
const C_LEXICAL: Lexical = Lexical {
    line_comments: &["//"],
    block_comment: Some(("/*", "*/")),
    nested_comments: false,
    quotes: &['"', '\''],
    char_or_lifetime: false,
    triple_quotes: false,
    strings_end_at_line_end: false,
};

/// JavaScript's lexical rules: C's, with template strings in backquotes.
const JS_LEXICAL: Lexical = Lexical { quotes: &['"', '\'', '`'], ..C_LEXICAL };

const BRACKET_OPENERS: &[&str] = &["{", "(", "["];
const C_DOCS: &[&str] = &["///", "//", "/*", "*", "@", "#["];

pub(crate) static RUST: LanguageSpec = LanguageSpec {
    name: "rust",
    ids: &["rust"],
    extensions: &["rs"],
    grammar: Some(Grammar {
        name: "tree-sitter-rust",
        language: tree_sitter_rust::LANGUAGE,
        queries: queries!("rust"),
    }),
    lexical: Lexical {
        line_comments: &["//"],
        block_comment: Some(("/*", "*/")),
        nested_comments: true,
        quotes: &['"'],
        char_or_lifetime: true,
        triple_quotes: false,
        strings_end_at_line_end: false,
    },
    blocks: Blocks::Brackets,
    block_openers: BRACKET_OPENERS,
    doc_prefixes: &["///", "#[", "//!"],
    keywords: &[
        "as", "async", "await", "break", "const", "continue", "crate", "dyn", "else", "enum", "extern", "false", "fn",
        "for", "if", "impl", "in", "let", "loop", "match", "mod", "move", "mut", "pub", "ref", "return", "self",
        "Self", "static", "struct", "super", "trait", "true", "type", "unsafe", "use", "where", "while", "String",
        "Vec", "Option", "Some", "Ok", "Err", "Result", "Box", "usize", "u8", "u32", "u64", "i32", "i64", "f32", "f64",
        "str", "bool",
    ],
    kinds: NodeKinds {
        strings: &["string_literal", "raw_string_literal", "char_literal", "string_content"],
        comments: &["line_comment", "block_comment"],
        lists: &[&[
            "arguments",
            "parameters",
            "array_expression",
            "tuple_expression",
            "parenthesized_expression",
            "type_arguments",
            "type_parameters",
            "tuple_pattern",
            "slice_pattern",
        ]],
        blocks: &[
            "block",
            "declaration_list",
            "match_block",
            "source_file",
            "field_declaration_list",
            "enum_variant_list",
            "closure_expression",
        ],
    },
};

pub(crate) static PYTHON: LanguageSpec = LanguageSpec {
    name: "python",
    ids: &["python"],
    extensions: &["py", "pyi", "pyw"],
    grammar: Some(Grammar {
        name: "tree-sitter-python",
        language: tree_sitter_python::LANGUAGE,
        queries: queries!("python"),
    }),
    lexical: Lexical {
        line_comments: &["#"],
        block_comment: None,
        nested_comments: false,
        quotes: &['"', '\''],
        char_or_lifetime: false,
        triple_quotes: true,
        strings_end_at_line_end: true,
    },
    blocks: Blocks::Indentation,
    block_openers: &["{", "(", "[", ":"],
    doc_prefixes: &["@"],
    keywords: &[
        "and", "as", "assert", "async", "await", "break", "class", "continue", "def", "del", "elif", "else", "except",
        "finally", "for", "from", "global", "if", "import", "in", "is", "lambda", "None", "nonlocal", "not", "or",
        "pass", "raise", "return", "True", "False", "try", "while", "with", "yield", "print", "len", "str", "int",
        "float", "bool", "list", "dict", "self",
    ],
    kinds: NodeKinds {
        strings: &["string", "string_content"],
        comments: &["comment"],
        lists: &[&["argument_list", "parameters", "list", "tuple", "set", "dictionary", "parenthesized_expression"]],
        blocks: &[
            "block",
            "module",
            "function_definition",
            "class_definition",
            "if_statement",
            "for_statement",
            "while_statement",
            "with_statement",
            "try_statement",
        ],
    },
};

/// Keywords shared by JavaScript and TypeScript.
const JS_KEYWORDS: &[&str] = &[
    "async",
    "await",
    "break",
    "case",
    "catch",
    "class",
    "const",
    "continue",
    "default",
    "delete",
    "do",
    "else",
    "export",
    "extends",
    "false",
    "finally",
    "for",
    "from",
    "function",
    "if",
    "import",
    "in",
    "instanceof",
    "let",
    "new",
    "null",
    "of",
    "return",
    "static",
    "super",
    "switch",
    "this",
    "throw",
    "true",
    "try",
    "typeof",
    "undefined",
    "var",
    "void",
    "while",
    "yield",
    "console",
    "Object",
    "Array",
    "String",
    "Number",
    "Promise",
    "interface",
    "type",
    "enum",
    "implements",
    "private",
    "public",
    "protected",
    "readonly",
    "abstract",
    "as",
    "string",
    "number",
    "boolean",
    "any",
    "unknown",
    "never",
];

/// JavaScript's node kinds; TypeScript's add types, TSX's both.
const JS_STRINGS: &[&str] = &["string", "template_string", "string_fragment", "regex"];
const JS_COMMENTS: &[&str] = &["comment", "html_comment"];
const JS_BLOCKS: &[&str] = &["statement_block", "program", "class_body", "switch_body", "switch_case"];
const JS_LISTS: &[&str] = &[
    "arguments",
    "formal_parameters",
    "array",
    "object",
    "object_pattern",
    "array_pattern",
    "named_imports",
    "parenthesized_expression",
];
const JSX_LISTS: &[&str] = &["jsx_opening_element"];
const TS_TYPE_LISTS: &[&str] = &["type_arguments", "type_parameters", "object_type", "enum_body"];
const TS_BLOCKS: &[&str] =
    &["statement_block", "program", "class_body", "switch_body", "switch_case", "interface_body"];
const JS_KINDS: NodeKinds =
    NodeKinds { strings: JS_STRINGS, comments: JS_COMMENTS, lists: &[JS_LISTS, JSX_LISTS], blocks: JS_BLOCKS };
const TS_KINDS: NodeKinds =
    NodeKinds { strings: JS_STRINGS, comments: JS_COMMENTS, lists: &[JS_LISTS, TS_TYPE_LISTS], blocks: TS_BLOCKS };
const TSX_KINDS: NodeKinds = NodeKinds {
    strings: JS_STRINGS,
    comments: JS_COMMENTS,
    lists: &[JS_LISTS, TS_TYPE_LISTS, JSX_LISTS],
    blocks: TS_BLOCKS,
};

pub(crate) static JAVASCRIPT: LanguageSpec = LanguageSpec {
    name: "javascript",
    ids: &["javascript", "javascriptreact", "jsx"],
    extensions: &["js", "mjs", "cjs", "jsx"],
    grammar: Some(Grammar {
        name: "tree-sitter-javascript",
        language: tree_sitter_javascript::LANGUAGE,
        queries: queries!("javascript"),
    }),
    lexical: JS_LEXICAL,
    blocks: Blocks::Brackets,
    block_openers: BRACKET_OPENERS,
    doc_prefixes: C_DOCS,
    keywords: JS_KEYWORDS,
    kinds: JS_KINDS,
};

pub(crate) static TYPESCRIPT: LanguageSpec = LanguageSpec {
    name: "typescript",
    ids: &["typescript"],
    extensions: &["ts", "mts", "cts"],
    grammar: Some(Grammar {
        name: "tree-sitter-typescript",
        language: tree_sitter_typescript::LANGUAGE_TYPESCRIPT,
        queries: queries!("typescript", inherits "javascript"),
    }),
    lexical: JS_LEXICAL,
    blocks: Blocks::Brackets,
    block_openers: BRACKET_OPENERS,
    doc_prefixes: C_DOCS,
    keywords: JS_KEYWORDS,
    kinds: TS_KINDS,
};

pub(crate) static TSX: LanguageSpec = LanguageSpec {
    name: "tsx",
    ids: &["typescriptreact", "tsx"],
    extensions: &["tsx"],
    grammar: Some(Grammar {
        name: "tree-sitter-typescript (tsx)",
        language: tree_sitter_typescript::LANGUAGE_TSX,
        queries: queries!("typescript", inherits "javascript"),
    }),
    lexical: JS_LEXICAL,
    blocks: Blocks::Brackets,
    block_openers: BRACKET_OPENERS,
    doc_prefixes: C_DOCS,
    keywords: JS_KEYWORDS,
    kinds: TSX_KINDS,
};

pub(crate) static GO: LanguageSpec = LanguageSpec {
    name: "go",
    ids: &["go"],
    extensions: &["go"],
    grammar: Some(Grammar { name: "tree-sitter-go", language: tree_sitter_go::LANGUAGE, queries: queries!("go") }),
    lexical: JS_LEXICAL,
    blocks: Blocks::Brackets,
    block_openers: BRACKET_OPENERS,
    doc_prefixes: &["//"],
    keywords: &[
        "break",
        "case",
        "chan",
        "const",
        "continue",
        "default",
        "defer",
        "else",
        "fallthrough",
        "for",
        "func",
        "go",
        "goto",
        "if",
        "import",
        "interface",
        "map",
        "package",
        "range",
        "return",
        "select",
        "struct",
        "switch",
        "type",
        "var",
        "nil",
        "true",
        "false",
        "err",
        "error",
        "string",
        "int",
        "int64",
        "uint",
        "byte",
        "rune",
        "bool",
        "float64",
        "len",
        "make",
        "append",
        "fmt",
    ],
    kinds: NodeKinds {
        strings: &[
            "interpreted_string_literal",
            "raw_string_literal",
            "rune_literal",
            "interpreted_string_literal_content",
            "raw_string_literal_content",
        ],
        comments: &["comment"],
        lists: &[&[
            "argument_list",
            "parameter_list",
            "literal_value",
            "parenthesized_expression",
            "type_arguments",
            "type_parameter_list",
            "import_spec_list",
            "field_declaration_list",
            "interface_type",
        ]],
        blocks: &[
            "block",
            "statement_list",
            "source_file",
            "expression_case",
            "default_case",
            "type_case",
            "communication_case",
            "func_literal",
        ],
    },
};

pub(crate) static JAVA: LanguageSpec = LanguageSpec {
    name: "java",
    ids: &["java"],
    extensions: &["java"],
    grammar: Some(Grammar {
        name: "tree-sitter-java",
        language: tree_sitter_java::LANGUAGE,
        queries: queries!("java"),
    }),
    lexical: C_LEXICAL,
    blocks: Blocks::Brackets,
    block_openers: BRACKET_OPENERS,
    doc_prefixes: &["/*", "*", "//", "@"],
    keywords: &[
        "abstract",
        "boolean",
        "break",
        "byte",
        "case",
        "catch",
        "char",
        "class",
        "continue",
        "default",
        "do",
        "double",
        "else",
        "enum",
        "extends",
        "false",
        "final",
        "finally",
        "float",
        "for",
        "if",
        "implements",
        "import",
        "instanceof",
        "int",
        "interface",
        "long",
        "new",
        "null",
        "package",
        "private",
        "protected",
        "public",
        "return",
        "short",
        "static",
        "super",
        "switch",
        "synchronized",
        "this",
        "throw",
        "throws",
        "true",
        "try",
        "var",
        "void",
        "while",
        "String",
        "Object",
        "Integer",
        "List",
        "Map",
        "Override",
        "System",
    ],
    kinds: NodeKinds {
        strings: &["string_literal", "string_fragment", "character_literal", "multiline_string_fragment"],
        comments: &["line_comment", "block_comment"],
        lists: &[&[
            "argument_list",
            "formal_parameters",
            "array_initializer",
            "element_value_array_initializer",
            "type_arguments",
            "type_parameters",
            "parenthesized_expression",
            "annotation_argument_list",
        ]],
        blocks: &[
            "block",
            "program",
            "class_body",
            "interface_body",
            "enum_body",
            "enum_body_declarations",
            "constructor_body",
            "switch_block",
            "switch_block_statement_group",
        ],
    },
};

/// Keywords shared by C and C++.
const C_KEYWORDS: &[&str] = &[
    "auto",
    "break",
    "case",
    "char",
    "const",
    "continue",
    "default",
    "do",
    "double",
    "else",
    "enum",
    "extern",
    "float",
    "for",
    "goto",
    "if",
    "inline",
    "int",
    "long",
    "register",
    "return",
    "short",
    "signed",
    "sizeof",
    "static",
    "struct",
    "switch",
    "typedef",
    "union",
    "unsigned",
    "void",
    "volatile",
    "while",
    "NULL",
    "size_t",
    "bool",
    "true",
    "false",
    "class",
    "namespace",
    "template",
    "typename",
    "public",
    "private",
    "protected",
    "virtual",
    "override",
    "nullptr",
    "this",
    "new",
    "delete",
    "std",
    "using",
    "include",
    "define",
    "ifdef",
    "ifndef",
    "endif",
];

const C_STRINGS: &[&str] = &["string_literal", "char_literal", "string_content", "system_lib_string"];
const C_BLOCKS: &[&str] = &[
    "compound_statement",
    "translation_unit",
    "declaration_list",
    "field_declaration_list",
    "case_statement",
    "preproc_if",
    "preproc_ifdef",
    "preproc_else",
];
const C_LISTS: &[&str] =
    &["argument_list", "parameter_list", "initializer_list", "parenthesized_expression", "enumerator_list"];
const C_KINDS: NodeKinds =
    NodeKinds { strings: C_STRINGS, comments: &["comment"], lists: &[C_LISTS], blocks: C_BLOCKS };
/// C's, with raw strings and template brackets.
const CPP_KINDS: NodeKinds = NodeKinds {
    strings: &["string_literal", "char_literal", "string_content", "system_lib_string", "raw_string_literal"],
    comments: &["comment"],
    lists: &[C_LISTS, &["template_argument_list", "template_parameter_list"]],
    blocks: C_BLOCKS,
};

pub(crate) static C: LanguageSpec = LanguageSpec {
    name: "c",
    ids: &["c"],
    extensions: &["c", "h"],
    grammar: Some(Grammar { name: "tree-sitter-c", language: tree_sitter_c::LANGUAGE, queries: queries!("c") }),
    lexical: C_LEXICAL,
    blocks: Blocks::Brackets,
    block_openers: BRACKET_OPENERS,
    doc_prefixes: &["/*", "*", "//"],
    keywords: C_KEYWORDS,
    kinds: C_KINDS,
};

pub(crate) static CPP: LanguageSpec = LanguageSpec {
    name: "cpp",
    ids: &["cpp", "c++", "cuda-cpp"],
    extensions: &["cpp", "cc", "cxx", "c++", "hpp", "hh", "hxx", "h++", "ipp", "cu"],
    grammar: Some(Grammar { name: "tree-sitter-cpp", language: tree_sitter_cpp::LANGUAGE, queries: queries!("cpp") }),
    lexical: C_LEXICAL,
    blocks: Blocks::Brackets,
    block_openers: BRACKET_OPENERS,
    doc_prefixes: &["/*", "*", "//", "template"],
    keywords: C_KEYWORDS,
    kinds: CPP_KINDS,
};

pub(crate) static CSHARP: LanguageSpec = LanguageSpec {
    name: "csharp",
    ids: &["csharp", "c-sharp", "cs", "c#"],
    extensions: &["cs", "csx"],
    grammar: Some(Grammar {
        name: "tree-sitter-c-sharp",
        language: tree_sitter_c_sharp::LANGUAGE,
        queries: queries!("csharp"),
    }),
    lexical: C_LEXICAL,
    blocks: Blocks::Brackets,
    block_openers: BRACKET_OPENERS,
    doc_prefixes: &["///", "//", "[", "/*", "*"],
    keywords: &[
        "abstract",
        "as",
        "async",
        "await",
        "base",
        "bool",
        "break",
        "case",
        "catch",
        "char",
        "class",
        "const",
        "continue",
        "decimal",
        "default",
        "double",
        "else",
        "enum",
        "false",
        "finally",
        "float",
        "for",
        "foreach",
        "if",
        "in",
        "int",
        "interface",
        "internal",
        "is",
        "long",
        "namespace",
        "new",
        "null",
        "object",
        "out",
        "override",
        "private",
        "protected",
        "public",
        "readonly",
        "record",
        "ref",
        "return",
        "sealed",
        "static",
        "string",
        "struct",
        "switch",
        "this",
        "throw",
        "true",
        "try",
        "typeof",
        "using",
        "var",
        "virtual",
        "void",
        "while",
        "get",
        "set",
        "value",
        "String",
        "Task",
        "List",
        "Console",
    ],
    kinds: NodeKinds {
        strings: &[
            "string_literal",
            "string_literal_content",
            "verbatim_string_literal",
            "raw_string_literal",
            "raw_string_content",
            "interpolated_string_expression",
            "character_literal",
        ],
        comments: &["comment"],
        lists: &[&[
            "argument_list",
            "parameter_list",
            "bracketed_argument_list",
            "type_argument_list",
            "type_parameter_list",
            "initializer_expression",
            "attribute_argument_list",
            "parenthesized_expression",
            "enum_member_declaration_list",
        ]],
        blocks: &["block", "declaration_list", "compilation_unit", "switch_body", "switch_section", "accessor_list"],
    },
};

pub(crate) static PHP: LanguageSpec = LanguageSpec {
    name: "php",
    ids: &["php"],
    extensions: &["php", "phtml", "php8"],
    grammar: Some(Grammar {
        name: "tree-sitter-php",
        language: tree_sitter_php::LANGUAGE_PHP,
        queries: queries!("php"),
    }),
    lexical: Lexical { line_comments: &["//", "#"], quotes: &['"', '\'', '`'], ..C_LEXICAL },
    blocks: Blocks::Brackets,
    block_openers: BRACKET_OPENERS,
    doc_prefixes: &["/*", "*", "//", "#["],
    keywords: &[
        "abstract",
        "array",
        "as",
        "break",
        "case",
        "catch",
        "class",
        "const",
        "continue",
        "default",
        "do",
        "echo",
        "else",
        "elseif",
        "enum",
        "extends",
        "false",
        "final",
        "finally",
        "fn",
        "for",
        "foreach",
        "function",
        "global",
        "if",
        "implements",
        "include",
        "instanceof",
        "interface",
        "match",
        "namespace",
        "new",
        "null",
        "private",
        "protected",
        "public",
        "readonly",
        "require",
        "return",
        "self",
        "static",
        "switch",
        "this",
        "throw",
        "trait",
        "true",
        "try",
        "use",
        "while",
        "string",
        "int",
        "bool",
        "void",
        "mixed",
        "php",
    ],
    kinds: NodeKinds {
        strings: &["string", "encapsed_string", "string_content", "heredoc", "nowdoc", "heredoc_body", "nowdoc_body"],
        comments: &["comment"],
        lists: &[&[
            "arguments",
            "formal_parameters",
            "array_creation_expression",
            "parenthesized_expression",
            "list_literal",
        ]],
        blocks: &[
            "compound_statement",
            "declaration_list",
            "program",
            "switch_block",
            "case_statement",
            "default_statement",
            "enum_declaration_list",
            "colon_block",
            "match_block",
        ],
    },
};

pub(crate) static RUBY: LanguageSpec = LanguageSpec {
    name: "ruby",
    ids: &["ruby"],
    extensions: &["rb", "rake", "gemspec", "ru"],
    grammar: Some(Grammar {
        name: "tree-sitter-ruby",
        language: tree_sitter_ruby::LANGUAGE,
        queries: queries!("ruby"),
    }),
    lexical: plain_lexical(&["#"]),
    // `end` closes a block: the answer ends at the first line indented less than the block.
    blocks: Blocks::Brackets,
    block_openers: &["{", "(", "[", " do", "|", "then", "else", "begin"],
    doc_prefixes: &["#"],
    keywords: &[
        "alias",
        "and",
        "begin",
        "break",
        "case",
        "class",
        "def",
        "defined",
        "do",
        "else",
        "elsif",
        "end",
        "ensure",
        "false",
        "for",
        "if",
        "in",
        "module",
        "next",
        "nil",
        "not",
        "or",
        "redo",
        "rescue",
        "retry",
        "return",
        "self",
        "super",
        "then",
        "true",
        "undef",
        "unless",
        "until",
        "when",
        "while",
        "yield",
        "require",
        "require_relative",
        "include",
        "extend",
        "attr_reader",
        "attr_accessor",
        "puts",
        "new",
    ],
    kinds: NodeKinds {
        strings: &["string", "string_content", "heredoc_body", "bare_string", "chained_string", "subshell"],
        comments: &["comment"],
        lists: &[&[
            "argument_list",
            "array",
            "hash",
            "method_parameters",
            "block_parameters",
            "lambda_parameters",
            "string_array",
            "symbol_array",
        ]],
        blocks: &["program", "body_statement", "block_body", "do_block", "block", "then", "else", "begin", "when"],
    },
};

pub(crate) static BASH: LanguageSpec = LanguageSpec {
    name: "bash",
    ids: &["shellscript", "shell script", "sh", "bash"],
    extensions: &["sh", "bash"],
    grammar: Some(Grammar {
        name: "tree-sitter-bash",
        language: tree_sitter_bash::LANGUAGE,
        queries: queries!("bash"),
    }),
    lexical: plain_lexical(&["#"]),
    // `fi`, `done`, `esac` and `}` close blocks: the answer ends at the first line
    // indented less than the block, or at the `}` of a function.
    blocks: Blocks::Brackets,
    block_openers: &["{", "(", "then", "do", "else", " in"],
    doc_prefixes: &["#"],
    keywords: &[
        "case", "do", "done", "elif", "else", "esac", "fi", "for", "function", "if", "in", "local", "return", "then",
        "until", "while", "echo", "export", "readonly", "declare", "true", "false", "exit", "set", "shift",
    ],
    kinds: NodeKinds {
        strings: &["string", "raw_string", "string_content", "ansi_c_string", "heredoc_body", "translated_string"],
        comments: &["comment"],
        lists: &[&["array"]],
        blocks: &[
            "program",
            "compound_statement",
            "do_group",
            "if_statement",
            "elif_clause",
            "else_clause",
            "case_item",
            "subshell",
        ],
    },
};

/// Comments that run to the line's end, strings in any quote, no block comments: the
/// rules of shells, Ruby, and of every language without a grammar here.
const fn plain_lexical(line_comments: &'static [&'static str]) -> Lexical {
    Lexical {
        line_comments,
        block_comment: None,
        nested_comments: false,
        quotes: &['"', '\'', '`'],
        char_or_lifetime: false,
        triple_quotes: false,
        strings_end_at_line_end: false,
    }
}

/// A row for languages read with text rules only, by their line-comment marker.
const fn text_row(
    name: &'static str,
    comment: &'static [&'static str],
    ids: &'static [&'static str],
    extensions: &'static [&'static str],
) -> LanguageSpec {
    LanguageSpec {
        name,
        ids,
        extensions,
        grammar: None,
        lexical: plain_lexical(comment),
        blocks: Blocks::Brackets,
        block_openers: BRACKET_OPENERS,
        doc_prefixes: &[],
        keywords: &[],
        kinds: NO_KINDS,
    }
}

pub(crate) static TEXT_SLASHES: LanguageSpec = text_row(
    "text (//)",
    &["//"],
    &["kotlin", "scala", "swift", "dart", "zig", "objective-c", "groovy"],
    &["kt", "kts", "scala", "swift", "dart", "zig", "m", "groovy"],
);

pub(crate) static TEXT_HASH: LanguageSpec = text_row(
    "text (#)",
    &["#"],
    &[
        "zsh",
        "fish",
        "perl",
        "r",
        "yaml",
        "toml",
        "dockerfile",
        "makefile",
        "make",
        "elixir",
        "julia",
        "nim",
        "powershell",
        "cmake",
    ],
    &["zsh", "fish", "pl", "pm", "r", "yaml", "yml", "toml", "ex", "exs", "jl", "nim", "ps1", "cmake"],
);

pub(crate) static TEXT_DASHES: LanguageSpec = text_row(
    "text (--)",
    &["--"],
    &["lua", "sql", "haskell", "elm", "ada"],
    &["lua", "sql", "hs", "elm", "adb", "ads"],
);

pub(crate) static TEXT_SEMICOLONS: LanguageSpec =
    text_row("text (;;)", &[";;"], &["lisp", "clojure", "scheme", "emacs-lisp"], &["lisp", "clj", "cljs", "scm", "el"]);

/// What an unknown language is read as (not in [`LANGUAGES`]: nothing names it).
pub(crate) static PLAIN_TEXT: LanguageSpec = text_row("plain text", &["//"], &[], &[]);

//! Which front end is calling: the Rust crate, the Python or Node package, or the CLI. It
//! names the `User-Agent` and spells argument names in messages the caller's way. A leaf
//! module, so the configuration and the credentials can both use it.

/// Which front end is calling, for the `User-Agent` header.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Binding {
    /// The Rust crate.
    #[default]
    Rust,
    /// The Python package.
    Python,
    /// The Node package.
    Node,
    /// The command-line tools.
    Cli,
}

impl Binding {
    /// A snake_case name as this front end spells it (`phone_number` → `phoneNumber` for
    /// Node), for messages that name the caller's arguments.
    pub fn spell(self, snake: &str) -> String {
        if self != Binding::Node {
            return snake.to_string();
        }
        let mut out = String::with_capacity(snake.len());
        let mut upper = false;
        for c in snake.chars() {
            match c {
                '_' => upper = true,
                c if upper => {
                    out.push(c.to_ascii_uppercase());
                    upper = false;
                }
                c => out.push(c),
            }
        }
        out
    }

    /// The name in the `User-Agent` header (`rust`, `python`, `node`, `cli`).
    pub fn as_str(self) -> &'static str {
        match self {
            Binding::Rust => "rust",
            Binding::Python => "python",
            Binding::Node => "node",
            Binding::Cli => "cli",
        }
    }
}

//! [`numbered!`](crate::numbered): the one way a service's domain declares an enum of its
//! contract. The variants carry the proto numbers (stored as such: the contracts promise never
//! to renumber) and the proto names without their prefix (for messages and logs), so the domain
//! knows its values without seeing a protobuf type.

/// Declares an enum stored and sent as its proto number, with `from_i32`, `as_str` and
/// `Display`:
///
/// ```
/// govmedia_kit::numbered! {
///     /// Where a thing stands.
///     Status {
///         /// Fresh.
///         New = 1 => "NEW",
///         /// Done.
///         Done = 2 => "DONE",
///     }
/// }
/// assert_eq!(Status::from_i32(2), Some(Status::Done));
/// assert_eq!(Status::from_i32(0), None);
/// assert_eq!(Status::New.to_string(), "NEW");
/// assert_eq!(Status::Done as i32, 2);
/// ```
#[macro_export]
macro_rules! numbered {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident = $number:literal => $text:literal,)+ }) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub enum $name {
            $($(#[$vmeta])* $variant = $number,)+
        }

        impl $name {
            /// Every value, in number order.
            pub const ALL: &'static [$name] = &[$($name::$variant,)+];

            /// From the stored or proto number.
            pub fn from_i32(value: i32) -> Option<$name> {
                match value {
                    $($number => Some($name::$variant),)+
                    _ => None,
                }
            }

            /// The proto name without its prefix, e.g. `OPEN`.
            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text,)+
                }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

//! [`numbered!`](crate::numbered): the one way a service's domain declares an enum of its
//! contract. The variants carry the proto numbers (stored as such: the contracts promise never
//! to renumber) and the proto names without their prefix (for messages and logs), so the domain
//! knows its values without seeing a protobuf type.

/// Declares an enum stored and sent as its proto number, with `from_i32`, `as_str` and
/// `Display`; in JSON (a value stored whole, such as a scheme) it is its name, which stays
/// readable and survives a renumbering nobody will make:
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
/// assert_eq!(serde_json::to_string(&Status::Done).unwrap(), "\"DONE\"");
/// assert_eq!(serde_json::from_str::<Status>("\"NEW\"").unwrap(), Status::New);
/// ```
#[macro_export]
macro_rules! numbered {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident = $number:literal => $text:literal,)+ }) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
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

        impl $crate::numbered::__serde::Serialize for $name {
            fn serialize<S: $crate::numbered::__serde::Serializer>(
                &self,
                serializer: S,
            ) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(self.as_str())
            }
        }

        impl<'de> $crate::numbered::__serde::Deserialize<'de> for $name {
            fn deserialize<D: $crate::numbered::__serde::Deserializer<'de>>(
                deserializer: D,
            ) -> Result<Self, D::Error> {
                let text = <std::borrow::Cow<'de, str> as $crate::numbered::__serde::Deserialize>::deserialize(deserializer)?;
                $name::ALL
                    .iter()
                    .copied()
                    .find(|value| value.as_str() == text)
                    .ok_or_else(|| {
                        <D::Error as $crate::numbered::__serde::de::Error>::custom(format!(
                            "unknown {} {text:?}",
                            stringify!($name)
                        ))
                    })
            }
        }
    };
}

#[doc(hidden)]
pub use serde as __serde;

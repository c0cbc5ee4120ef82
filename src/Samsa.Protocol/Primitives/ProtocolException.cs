namespace Samsa.Protocol;

/// <summary>
/// Raised when bytes from a peer do not form a valid message. Decoders throw only this, so a caller
/// can treat any malformed input as one connection-level error and never sees a half-read object.
/// </summary>
public sealed class ProtocolException(string message) : Exception(message);

/// <summary>A message cannot be written at the requested version (a non-ignorable field would be lost).</summary>
public sealed class UnsupportedVersionException(string message) : Exception(message);

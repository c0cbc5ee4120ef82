namespace Samsa.Metadata.Scram;

/// <summary>
/// What the server keeps of a SCRAM password (RFC 5802 section 3; Kafka's <c>ScramCredential</c>): the salt, the
/// iteration count, StoredKey = H(ClientKey) and ServerKey. Neither key lets anyone log in as the user: a client
/// proof needs ClientKey, which only the salted password gives.
/// </summary>
public sealed class ScramCredential(byte[] salt, byte[] storedKey, byte[] serverKey, int iterations)
{
    public byte[] Salt { get; } = salt;

    public byte[] StoredKey { get; } = storedKey;

    public byte[] ServerKey { get; } = serverKey;

    public int Iterations { get; } = iterations;

    // No key material in logs or exception messages (Kafka's ScramCredentialValue.toString hides them too).
    public override string ToString() => $"ScramCredential(iterations={Iterations})";
}

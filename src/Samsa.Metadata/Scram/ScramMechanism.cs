using System.Security.Cryptography;

namespace Samsa.Metadata.Scram;

/// <summary>
/// Kafka's SCRAM mechanisms and their wire type codes (the public <c>ScramMechanism</c> of KIP-554: 0 unknown,
/// 1 SCRAM-SHA-256, 2 SCRAM-SHA-512), as carried in AlterUserScramCredentials and UserScramCredentialRecord.
/// </summary>
public enum ScramMechanism : sbyte
{
    Unknown = 0,
    ScramSha256 = 1,
    ScramSha512 = 2,
}

public static class ScramMechanisms
{
    /// <summary>Kafka's <c>ScramMechanism.minIterations</c>, the same 4096 for both (RFC 7677's recommended floor).</summary>
    public const int MinIterations = 4096;

    /// <summary>Kafka's <c>ScramControlManager.MAX_ITERATIONS</c>.</summary>
    public const int MaxIterations = 16384;

    public static readonly IReadOnlyList<ScramMechanism> All = [ScramMechanism.ScramSha256, ScramMechanism.ScramSha512];

    public static string MechanismName(this ScramMechanism mechanism) => mechanism switch
    {
        ScramMechanism.ScramSha256 => "SCRAM-SHA-256",
        ScramMechanism.ScramSha512 => "SCRAM-SHA-512",
        _ => "UNKNOWN",
    };

    /// <summary>The mechanism for a SASL name (<c>SCRAM-SHA-256</c>), or <see cref="ScramMechanism.Unknown"/>.</summary>
    public static ScramMechanism FromMechanismName(string name) => name switch
    {
        "SCRAM-SHA-256" => ScramMechanism.ScramSha256,
        "SCRAM-SHA-512" => ScramMechanism.ScramSha512,
        _ => ScramMechanism.Unknown,
    };

    /// <summary>The mechanism for a wire type code; codes Kafka does not define are <see cref="ScramMechanism.Unknown"/>.</summary>
    public static ScramMechanism FromType(sbyte type) =>
        type is (sbyte)ScramMechanism.ScramSha256 or (sbyte)ScramMechanism.ScramSha512 ? (ScramMechanism)type : ScramMechanism.Unknown;

    public static HashAlgorithmName HashAlgorithm(this ScramMechanism mechanism) => mechanism switch
    {
        ScramMechanism.ScramSha256 => HashAlgorithmName.SHA256,
        ScramMechanism.ScramSha512 => HashAlgorithmName.SHA512,
        _ => throw new ArgumentOutOfRangeException(nameof(mechanism), mechanism, "not a SCRAM mechanism"),
    };
}

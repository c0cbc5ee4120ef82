namespace Samsa.Interop.Tests.Infrastructure;

/// <summary>
/// The client programs the interop tests need. The README's test command installs them; a missing one is a
/// test failure (never a skip), with a message saying what to install.
/// </summary>
public static class Peers
{
    public const string Python = "/usr/bin/python3";

    public static void Require(string file)
    {
        if (Path.IsPathRooted(file) ? File.Exists(file) : OnPath(file))
        {
            return;
        }
        var hint = file switch
        {
            "kcat" => "apt-get install kcat",
            Python => "apt-get install python3 python3-kafka python3-confluent-kafka",
            _ => "run the README's test command, which installs the client peers",
        };
        throw new InvalidOperationException($"Interop peer '{file}' is missing ({hint}).");
    }

    private static bool OnPath(string file) =>
        (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':').Any(dir => File.Exists(Path.Combine(dir, file)));
}

namespace Samsa.Interop.Tests.Infrastructure;

/// <summary>Where the built server and client programs are, for the build configuration these tests run in.</summary>
public static class RepoPaths
{
    public static string Root { get; } = FindRoot();

    /// <summary>"Debug" or "Release", taken from this test assembly's own output folder.</summary>
    public static string Configuration { get; } =
        AppContext.BaseDirectory.Contains($"{Path.DirectorySeparatorChar}Release{Path.DirectorySeparatorChar}", StringComparison.Ordinal) ? "Release" : "Debug";

    public static string ServerDll => Built("src/Samsa.Server", "samsa-server.dll");

    public static string ConfluentClientDll => Built("tests/Samsa.Interop.ConfluentClient", "Samsa.Interop.ConfluentClient.dll");

    public static string ClientScript(string name) => Path.Combine(AppContext.BaseDirectory, "clients", name);

    private static string Built(string project, string file)
    {
        var path = Path.Combine(Root, project, "bin", Configuration, "net10.0", file);
        return File.Exists(path) ? path : throw new FileNotFoundException($"{path} is not built; run the README's test command", path);
    }

    private static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Samsa.slnx")))
            {
                return dir.FullName;
            }
        }
        throw new InvalidOperationException("Samsa.slnx not found above " + AppContext.BaseDirectory);
    }
}

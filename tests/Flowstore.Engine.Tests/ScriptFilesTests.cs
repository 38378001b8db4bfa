using Flowstore.Engine;

namespace Flowstore.Engine.Tests;

public sealed class ScriptFilesTests : EngineTestBase
{
    [Theory]
    [InlineData("flows/**/*.cs", "flows", "**/*.cs")]
    [InlineData("/srv/flows/**/x*.cs", "/srv/flows", "**/x*.cs")]
    [InlineData("**/*.cs", "", "**/*.cs")]
    [InlineData("/**/*.cs", "/", "**/*.cs")]
    [InlineData(@"flows\nightly\**\*.cs", "flows/nightly", "**/*.cs")]
    [InlineData("a/*/b/**/*.cs", "a", "*/b/**/*.cs")]
    public void A_pattern_splits_into_the_folder_it_starts_from_and_a_glob(string pattern, string root, string glob)
        => Assert.Equal((root, glob), ScriptFiles.Split(pattern));

    [Fact]
    public void Globstar_matches_scripts_at_any_depth_and_only_what_the_name_pattern_allows()
    {
        var a = WriteScript("flows/a.cs", "");
        var b = WriteScript("flows/x/b.cs", "");
        var c = WriteScript("flows/x/y/z/c.cs", "");
        WriteScript("flows/x/README.md", "");
        var root = Path.GetDirectoryName(a)!;

        Assert.Equal(new[] { a, b, c }.Order(StringComparer.Ordinal), ScriptFiles.Match(root, "**/*.cs"));
        Assert.Equal(new[] { b, c }.Order(StringComparer.Ordinal), ScriptFiles.Match(root, "x/**/*.cs"));
        Assert.Empty(ScriptFiles.Match(root, "**/zzz*.cs"));
        Assert.True(ScriptFiles.HasGlobstar("flows/**/*.cs"));
        Assert.False(ScriptFiles.HasGlobstar("flows/*/*.cs"));
    }

    [Fact]
    public async Task A_file_that_is_not_a_cs_file_is_NotAFlowScript_for_registration_testing_and_running()
    {
        var readme = WriteScript("README.md", "# Flows\n\nNothing here compiles.\n");

        var register = await Assert.ThrowsAsync<FlowstoreException>(() => RegisterAsync(readme));
        var test = await Assert.ThrowsAsync<FlowstoreException>(() => Client.TestScriptAsync(readme, null));
        var invoke = await Assert.ThrowsAsync<FlowstoreException>(() => Client.InvokeScriptAsync(readme, null, null));

        Assert.All(new[] { register, test, invoke }, e =>
        {
            Assert.Equal(ErrorIds.NotAFlowScript, e.ErrorId);
            Assert.Contains($"'{readme}' is not a flow script", e.Message);
            Assert.Equal(readme, e.Target);
        });
        Assert.Equal(ErrorIds.ScriptNotFound, (await Assert.ThrowsAsync<FlowstoreException>(() => Client.TestScriptAsync(readme + ".missing.md", null))).ErrorId);
    }
}

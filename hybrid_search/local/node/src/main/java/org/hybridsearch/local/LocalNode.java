package org.hybridsearch.local;

import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import org.opensearch.common.logging.LogConfigurator;
import org.opensearch.common.settings.Settings;
import org.opensearch.env.Environment;
import org.opensearch.node.InternalSettingsPreparer;
import org.opensearch.node.Node;
import org.opensearch.plugins.Plugin;

/**
 * Runs one OpenSearch node without the distribution's launcher scripts.
 *
 * <p>Usage: {@code LocalNode <path.home> <config dir> [classpath plugin class ...]}. {@code path.home}
 * holds {@code modules/} and {@code plugins/} (bundles such as lang-painless and opensearch-knn, which
 * are loaded and version-checked as in a distribution); the config dir holds {@code opensearch.yml}
 * and {@code log4j2.properties}. Plugins named on the command line are loaded from the classpath.
 * The node stops cleanly on SIGTERM.
 */
public final class LocalNode {

    private LocalNode() {}

    /** Exposes Node's protected constructor that accepts classpath plugins. */
    private static final class ClasspathPluginNode extends Node {
        ClasspathPluginNode(Environment environment, Collection<Class<? extends Plugin>> plugins) {
            super(environment, plugins, true);
        }
    }

    public static void main(String[] args) throws Exception {
        if (args.length < 2) {
            System.err.println("usage: LocalNode <path.home> <config dir> [plugin class ...]");
            System.exit(64);
        }
        Path home = Paths.get(args[0]).toAbsolutePath();
        Path config = Paths.get(args[1]).toAbsolutePath();

        LogConfigurator.registerErrorListener();
        Settings initial = Settings.builder().put("path.home", home.toString()).build();
        Environment environment = InternalSettingsPreparer.prepareEnvironment(initial, Map.of(), config, () -> "hybrid-search-local");
        LogConfigurator.setNodeName(Node.NODE_NAME_SETTING.get(environment.settings()));
        LogConfigurator.configure(environment);

        List<Class<? extends Plugin>> plugins = new ArrayList<>();
        for (String name : Arrays.asList(args).subList(2, args.length)) {
            plugins.add(Class.forName(name).asSubclass(Plugin.class));
        }

        Node node = new ClasspathPluginNode(environment, plugins);
        CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            try {
                node.close();
                node.awaitClose(30, TimeUnit.SECONDS);
            } catch (Exception e) {
                e.printStackTrace();
            } finally {
                stopped.countDown();
            }
        }, "local-node-shutdown"));
        node.start();
        stopped.await();
    }
}

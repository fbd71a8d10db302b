package dev.durablechat.core;

import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.codeUnits;
import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;

import com.tngtech.archunit.core.domain.JavaClass;
import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.domain.JavaCodeUnit;
import com.tngtech.archunit.core.domain.JavaType;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import com.tngtech.archunit.core.importer.ImportOption;
import com.tngtech.archunit.lang.ArchCondition;
import com.tngtech.archunit.lang.ConditionEvents;
import com.tngtech.archunit.lang.SimpleConditionEvent;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

@DisplayName("Architecture (docs/design.md: modules and their dependencies)")
class ArchitectureTest {
  private static JavaClasses classes;

  @BeforeAll
  static void importClasses() {
    classes =
        new ClassFileImporter()
            .withImportOption(ImportOption.Predefined.DO_NOT_INCLUDE_TESTS)
            .importPackages("dev.durablechat.api", "dev.durablechat.core");
  }

  @Test
  @DisplayName("core never imports java.sql, the AWS SDK or a storage backend")
  void coreImportsNoBackend() {
    noClasses()
        .that()
        .resideInAPackage("dev.durablechat.core..")
        .should()
        .dependOnClassesThat()
        .resideInAnyPackage("java.sql..", "software.amazon..", "dev.durablechat.storage..")
        .check(classes);
  }

  @Test
  @DisplayName(
      "only the Micrometer telemetry class touches Micrometer: the engine runs without it on the"
          + " class path")
  void onlyOneClassUsesMicrometer() {
    noClasses()
        .that()
        .resideInAnyPackage("dev.durablechat.api..", "dev.durablechat.core..")
        .and()
        .doNotHaveFullyQualifiedName("dev.durablechat.core.internal.MicrometerTelemetry")
        .should()
        .dependOnClassesThat()
        .resideInAnyPackage("io.micrometer..")
        .check(classes);
  }

  @Test
  @DisplayName("public signatures in the api mention only java.*, dev.durablechat.* and JSpecify")
  void apiSignaturesHaveNoThirdPartyTypes() {
    codeUnits()
        .that()
        .areDeclaredInClassesThat()
        .resideInAPackage("dev.durablechat.api..")
        .and()
        .arePublic()
        .and()
        .areDeclaredInClassesThat()
        .arePublic()
        .should(mentionOnlyOwnOrJdkTypes())
        .check(classes);
  }

  @Test
  @DisplayName("public signatures in core mention no Jackson, Guava or Caffeine types either")
  void coreSignaturesHaveNoThirdPartyTypes() {
    codeUnits()
        .that()
        .areDeclaredInClassesThat()
        .resideInAPackage("dev.durablechat.core")
        .and()
        .arePublic()
        .and()
        .areDeclaredInClassesThat()
        .arePublic()
        .should(mentionOnlyOwnOrJdkTypes())
        .check(classes);
  }

  private static ArchCondition<JavaCodeUnit> mentionOnlyOwnOrJdkTypes() {
    return new ArchCondition<>("mention only java.*, dev.durablechat.* and org.jspecify types") {
      @Override
      public void check(JavaCodeUnit unit, ConditionEvents events) {
        List<JavaType> types = new ArrayList<>(unit.getParameterTypes());
        types.add(unit.getReturnType());
        types.addAll(unit.getExceptionTypes());
        for (JavaType type : types) {
          for (JavaClass raw : type.getAllInvolvedRawTypes()) {
            check(unit, raw, events);
          }
        }
        unit.getAnnotations().forEach(a -> check(unit, a.getRawType(), events));
      }

      private void check(JavaCodeUnit unit, JavaClass raw, ConditionEvents events) {
        String name = raw.getName();
        boolean allowed =
            raw.isPrimitive()
                || (raw.isArray() && raw.getBaseComponentType().isPrimitive())
                || name.startsWith("java.")
                || name.startsWith("dev.durablechat.")
                || name.startsWith("org.jspecify.")
                || (raw.isArray() && raw.getBaseComponentType().getName().startsWith("java."))
                || (raw.isArray()
                    && raw.getBaseComponentType().getName().startsWith("dev.durablechat."));
        if (!allowed) {
          events.add(
              SimpleConditionEvent.violated(
                  unit, unit.getFullName() + " mentions the third-party type " + name));
        }
      }
    };
  }
}
